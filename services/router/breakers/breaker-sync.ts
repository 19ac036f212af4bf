import type { BreakerState } from "./circuit-breaker.js";

/**
 * One breaker transition as replicas share it (the value of a key in the breaker KV bucket, as protobuf JSON of
 * scoremesh.breaker.v1.BreakerTransition: see breaker-transition-codec.ts).
 * `epoch` orders transitions of one target across replicas: a replica publishing a transition uses one more
 * than the highest epoch it has seen for the target; ties are broken by `at`, then by `origin`.
 */
export interface BreakerTransition {
  /** The replica whose breaker changed, e.g. "router-4711". */
  origin: string;
  /** What the breaker guards, e.g. "127.0.0.1:50081/credit-default/3". */
  target: string;
  state: BreakerState;
  epoch: number;
  /** Wall-clock time of the transition, ms since the epoch. */
  at: number;
}

/** What a replica does with a transition it received. */
export type SyncAction =
  | { kind: "ignore"; why: "own" | "stale" | "informational" }
  /** Open our breaker at once, for what is left of the origin's wait (`waitMs`). */
  | { kind: "open"; waitMs: number }
  /** Another replica recovered the target: our own half-open trials decide (we do not close on its word). */
  | { kind: "try-recovery" };

/** True when `b` is a later transition than `a` (epoch, then time, then origin: a total order). */
export function isNewer(a: BreakerTransition | undefined, b: BreakerTransition): boolean {
  if (!a) return true;
  if (b.epoch !== a.epoch) return b.epoch > a.epoch;
  if (b.at !== a.at) return b.at > a.at;
  return b.origin > a.origin;
}

/**
 * The merge rules of shared breaker state, per target: keeps the latest transition seen (from anyone,
 * ourselves included) and says what to do with each incoming one. Pure: the caller passes the wall clock.
 *
 * - a transition not newer than the latest seen is stale (out of order, or a replay) → ignored;
 * - our own transitions only advance the epoch;
 * - OPEN from another replica → open ours at once, for the rest of the wait counted from its `at`;
 * - CLOSED from another replica → an OPEN breaker of ours goes HALF_OPEN and recovers through its own trials;
 * - HALF_OPEN from another replica → informational.
 *
 * @example
 *   const sync = new BreakerSync("router-1", { waitInOpenMs: 2000 });
 *   const t = sync.local("w1/credit-default/3", "OPEN", Date.now());   // publish t
 *   const action = sync.receive(incoming, Date.now());                   // apply action to the breaker
 */
export class BreakerSync {
  private readonly latest = new Map<string, BreakerTransition>();

  constructor(
    readonly origin: string,
    private readonly opts: { waitInOpenMs: number },
  ) {}

  /** The transition to publish for a local state change (epoch one past the latest seen for the target). */
  local(target: string, state: BreakerState, now: number): BreakerTransition {
    const prev = this.latest.get(target);
    const t: BreakerTransition = {
      origin: this.origin,
      target,
      state,
      epoch: (prev?.epoch ?? 0) + 1,
      at: Math.max(now, prev?.at ?? 0),
    };
    this.latest.set(target, t);
    return t;
  }

  receive(t: BreakerTransition, now: number): SyncAction {
    const prev = this.latest.get(t.target);
    if (!isNewer(prev, t)) return { kind: "ignore", why: t.origin === this.origin ? "own" : "stale" };
    this.latest.set(t.target, t);
    if (t.origin === this.origin) return { kind: "ignore", why: "own" };
    if (t.state === "OPEN") {
      const waitMs = Math.max(0, Math.min(this.opts.waitInOpenMs, t.at + this.opts.waitInOpenMs - now));
      return { kind: "open", waitMs };
    }
    if (t.state === "CLOSED") return { kind: "try-recovery" };
    return { kind: "ignore", why: "informational" };
  }

  /** The latest transition seen for a target. */
  get(target: string): BreakerTransition | undefined {
    return this.latest.get(target);
  }
}
