import { Counter, Gauge, type Registry } from "prom-client";
import type { BreakerBoard } from "./breakers/breakers.js";
import type { BreakerState } from "./breakers/circuit-breaker.js";
import type { RetryBudgets } from "./workers/retry-budget.js";

const STATES: readonly BreakerState[] = ["CLOSED", "OPEN", "HALF_OPEN"];

/**
 * The router's resilience, read at each scrape (nothing on the hot path): `scoremesh_router_breaker_state{target,
 * state}` (1 for the state each breaker is in, 0 for the others; a target is worker/model/version) and
 * `scoremesh_router_retry_budget_refused_total{target}` (retries the budget of a model version refused).
 */
export function registerRouterMetrics(registry: Registry, breakers: BreakerBoard, budgets?: RetryBudgets): void {
  new Gauge({
    name: "scoremesh_router_breaker_state",
    help: "Circuit breaker state per worker endpoint and model version: 1 for the current state (CLOSED, OPEN, HALF_OPEN).",
    labelNames: ["target", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, now] of Object.entries(breakers.states()))
        for (const state of STATES) this.set({ target, state }, state === now ? 1 : 0);
    },
  });
  new Counter({
    name: "scoremesh_router_retry_budget_refused_total",
    help: "Retries of worker calls refused by the retry budget of a model version.",
    labelNames: ["target"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, s] of Object.entries(budgets?.stats() ?? {})) this.inc({ target }, s.refused);
    },
  });
  new Counter({
    name: "scoremesh_router_retries_total",
    help: "Retries of worker calls the retry budget of a model version allowed.",
    labelNames: ["target"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, s] of Object.entries(budgets?.stats() ?? {})) this.inc({ target }, s.retries);
    },
  });
}
