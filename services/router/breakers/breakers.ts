import type { Logger } from "pino";
import { BreakerSync, type BreakerTransition } from "./breaker-sync.js";
import {
  CircuitBreaker,
  type BreakerPermit,
  type BreakerState,
  type CircuitBreakerOptions,
} from "./circuit-breaker.js";
import { wallClock as systemWallClock, type Clock } from "../../lib/service/index.js";

/** The target a breaker guards: one worker endpoint and one model version. */
export function breakerTarget(address: string, model: string, version: string): string {
  return `${address}/${model}/${version}`;
}

/**
 * The router's circuit breakers, one per worker endpoint and model version, created on first use, and the
 * shell that shares their transitions: every local transition is handed to `publish` (NATS, see
 * `BreakerStore`); `apply` takes the transitions of other replicas through the merge rules of `BreakerSync`.
 */
export class BreakerBoard {
  private readonly breakers = new Map<string, CircuitBreaker>();
  readonly sync: BreakerSync;
  /** Set once NATS is connected; transitions before that are only local. */
  publish?: (t: BreakerTransition) => void;

  constructor(
    readonly origin: string,
    private readonly opts: Omit<CircuitBreakerOptions, "onTransition">,
    private readonly log?: Logger,
    private readonly wallClock: Pick<Clock, "now"> = systemWallClock,
  ) {
    this.sync = new BreakerSync(origin, { waitInOpenMs: opts.waitInOpenMs ?? 2000 });
  }

  breaker(target: string): CircuitBreaker {
    let b = this.breakers.get(target);
    if (!b) {
      b = new CircuitBreaker({
        ...this.opts,
        onTransition: ({ from, to, adopted }) => {
          if (adopted) return;
          const t = this.sync.local(target, to, this.wallClock.now());
          const line = { target, from, to, epoch: t.epoch, at: t.at, ...this.breakers.get(target)?.rates() };
          if (to === "OPEN") this.log?.warn(line, "circuit breaker opened");
          else this.log?.info(line, "circuit breaker state changed");
          this.publish?.(t);
        },
      });
      this.breakers.set(target, b);
    }
    return b;
  }

  /** A permit to call `address` with `model`/`version`, or undefined while its breaker refuses calls. */
  acquire(address: string, model: string, version: string): BreakerPermit | undefined {
    return this.breaker(breakerTarget(address, model, version)).tryAcquire();
  }

  /** True when a call to the target would be let through now. */
  allows(address: string, model: string, version: string): boolean {
    return this.breaker(breakerTarget(address, model, version)).allows();
  }

  /** Applies another replica's transition (or a replay of ours) with the merge rules. */
  apply(t: BreakerTransition): void {
    const now = this.wallClock.now();
    const action = this.sync.receive(t, now);
    if (action.kind === "ignore") return;
    const b = this.breaker(t.target);
    const before = b.state;
    if (action.kind === "open") b.forceOpen(action.waitMs);
    else b.tryRecovery();
    this.log?.info(
      {
        target: t.target,
        origin: t.origin,
        state: t.state,
        epoch: t.epoch,
        from: before,
        to: b.state,
        propagationMs: now - t.at,
      },
      action.kind === "open"
        ? "circuit breaker opened by another replica: adopted"
        : "another replica recovered the target: trying our own half-open calls",
    );
  }

  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers].map(([k, b]) => [k, b.state]));
  }
}
