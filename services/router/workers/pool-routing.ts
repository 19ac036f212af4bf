import type { Logger } from "pino";
import type { ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import type { WorkerEndpoint } from "./worker-pool.js";

/** What the router knows of each worker's pools (pool-facts.ts). */
export interface PoolFacts {
  /** True when the worker at `address` carries `label` and has the version ready. */
  fits(address: string, label: string, model: string, version: string): boolean;
}

/** Calls of one pooled version: how many went to its pool, how many fell back to any worker. */
export interface PoolCounts {
  label: string;
  pool: number;
  fallback: number;
}

/**
 * The order of one call's workers under a pool rule. `up` (serving, round-robin already) and `down` are the
 * pool's candidates; `inPool(address)` says whether a worker belongs to the rule's pool and has the version
 * ready. With such workers: they come first, then the other serving workers (only a failover reaches them),
 * then the rest. Without any: every worker as before (the fallback: a pool rule never blocks a decision). Pure.
 */
export function poolOrder(
  up: readonly WorkerEndpoint[],
  down: readonly WorkerEndpoint[],
  inPool: (address: string) => boolean,
): { order: WorkerEndpoint[]; pooled: boolean } {
  const members = up.filter((e) => inPool(e.address));
  if (members.length === 0) return { order: [...up, ...down], pooled: false };
  return { order: [...members, ...up.filter((e) => !inPool(e.address)), ...down], pooled: true };
}

/**
 * The worker pool rules of every model (ServingPolicy.pools, from the policies the router follows), applied to
 * each worker call: a pooled version's rows go to the workers with its label that have it ready; when there
 * are none, to any worker (logged once per change, counted in `counts()`).
 */
export class PoolRouting {
  private readonly rules = new Map<string, Map<string, string>>();
  private readonly counts_ = new Map<string, PoolCounts>();
  /** "model/version" → whether its pool served the last call (for the once-per-change log). */
  private readonly state = new Map<string, boolean>();
  /** Told when the rules change (the pool facts refresh at once). */
  onChange: () => void = () => undefined;

  constructor(
    private readonly facts: PoolFacts,
    private readonly log?: Logger,
  ) {}

  /** Takes a policy's pool rules (none: removes the model's); logs once per change. */
  follow(policy: Pick<ServingPolicy, "model" | "pools">): void {
    const next = new Map(policy.pools.map((p) => [p.version, p.label]));
    const before = this.rules.get(policy.model) ?? new Map<string, string>();
    if (same(before, next)) return;
    if (next.size) this.rules.set(policy.model, next);
    else this.rules.delete(policy.model);
    this.log?.info({ model: policy.model, pools: Object.fromEntries(next) }, "worker pool rules changed");
    this.onChange();
  }

  /** The label whose workers serve the version; undefined: any worker. */
  labelOf(model: string, version: string): string | undefined {
    return this.rules.get(model)?.get(version);
  }

  /** Every pooled version, with its label. */
  pooled(): { model: string; version: string; label: string }[] {
    return [...this.rules].flatMap(([model, m]) => [...m].map(([version, label]) => ({ model, version, label })));
  }

  /** The workers of one call for `model`/`version`, in order (see `poolOrder`). */
  order(model: string, version: string, up: WorkerEndpoint[], down: WorkerEndpoint[]): WorkerEndpoint[] {
    const label = this.labelOf(model, version);
    if (label === undefined) return [...up, ...down];
    const { order, pooled } = poolOrder(up, down, (a) => this.facts.fits(a, label, model, version));
    this.note(model, version, label, pooled);
    return order;
  }

  /** Calls per pooled version ("model/version"), to and around its pool. */
  counts(): ReadonlyMap<string, PoolCounts> {
    return this.counts_;
  }

  private note(model: string, version: string, label: string, pooled: boolean): void {
    const key = `${model}/${version}`;
    let c = this.counts_.get(key);
    if (!c || c.label !== label) this.counts_.set(key, (c = { label, pool: 0, fallback: 0 }));
    if (pooled) c.pool++;
    else c.fallback++;
    if (this.state.get(key) === pooled) return;
    this.state.set(key, pooled);
    if (pooled) this.log?.info({ model, version, label }, "worker pool serves its version");
    else
      this.log?.warn(
        { model, version, label },
        "no serving worker with the pool's label has the version ready: any worker that has it serves it",
      );
  }
}

function same(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}
