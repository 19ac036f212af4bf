import { Counter, type Registry } from "prom-client";
import type { ModelRegistry } from "./model-registry.js";

/**
 * `scoremesh_worker_execution_seconds_total{model,version,provider}`: the time the worker spent running each
 * loaded version's model (every execution once, whatever its batch size), read from the versions' statistics at
 * each scrape. The monitor apportions the worker's CPU (or GPU) to versions by it (docs/outcomes.md, cost).
 */
export function registerExecutionMetrics(registry: Registry, models: Pick<ModelRegistry, "list">): void {
  new Counter({
    name: "scoremesh_worker_execution_seconds_total",
    help: "Time spent running a model version (input, inference, output of each execution), in seconds.",
    labelNames: ["model", "version", "provider"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const lv of models.list())
        this.inc({ model: lv.model, version: lv.version, provider: lv.provider }, lv.stats.executionMs() / 1000);
    },
  });
}
