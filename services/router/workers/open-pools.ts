import { Counter, type Registry } from "prom-client";
import type { Logger } from "pino";
import type { ServiceHost } from "../../lib/service/index.js";
import { WorkerPoolFacts } from "./pool-facts.js";
import { PoolRouting } from "./pool-routing.js";
import type { WorkerPool } from "./worker-pool.js";

/**
 * Worker pools for the router's workers: the rules follow the serving policies (`follow` on the returned
 * routing), the workers' labels and readiness are asked every 2 s while a rule is set, and
 * `scoremesh_router_pool_calls_total{target,label,outcome}` counts the calls of each pooled version that went to
 * its pool (outcome "pool") or, with no worker of the pool ready, to any worker ("fallback").
 */
export function openPools(workers: WorkerPool, registry: Registry, host: ServiceHost, log: Logger): PoolRouting {
  const ref: { routing?: PoolRouting } = {};
  const facts = new WorkerPoolFacts(
    { endpoints: () => workers.endpointsNow(), pooled: () => ref.routing?.pooled() ?? [] },
    { log },
  ).start();
  const routing = new PoolRouting(facts, log);
  ref.routing = routing;
  routing.onChange = () => void facts.refresh();
  workers.usePools(routing);
  host.onClose(() => facts.close());
  new Counter({
    name: "scoremesh_router_pool_calls_total",
    help: "Worker calls of a version with a pool rule: to its pool's workers (outcome=pool) or, with none of them ready, to any worker (outcome=fallback).",
    labelNames: ["target", "label", "outcome"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, c] of routing.counts()) {
        this.inc({ target, label: c.label, outcome: "pool" }, c.pool);
        this.inc({ target, label: c.label, outcome: "fallback" }, c.fallback);
      }
    },
  });
  return routing;
}
