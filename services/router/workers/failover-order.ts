import type { BreakerBoard } from "../breakers/breakers.js";
import type { BreakerPermit } from "../breakers/circuit-breaker.js";
import type { WorkerEndpoint } from "./worker-pool.js";

/** A worker to attempt, and the permit of its breaker (absent without breakers). */
export interface WorkerChoice {
  ep: WorkerEndpoint;
  permit: BreakerPermit | undefined;
}

/**
 * The workers one call tries, in the pool's order and round again (the same worker when it is the only one
 * whose breaker lets calls through). A worker whose breaker for the version is open is skipped: not an attempt.
 */
export class FailoverOrder {
  /** Workers passed over because their breaker refused. */
  skipped = 0;
  private pos = 0;

  constructor(
    private readonly order: readonly WorkerEndpoint[],
    private readonly breakers: BreakerBoard | undefined,
    private readonly model: string,
    private readonly version: string,
  ) {}

  /** The next worker from the last one on (cyclically) whose breaker gives a permit; undefined when none does. */
  next(): WorkerChoice | undefined {
    for (let k = 0; k < this.order.length; k++) {
      const i = (this.pos + k) % this.order.length;
      const ep = this.order[i]!;
      const permit = this.breakers?.acquire(ep.address, this.model, this.version);
      if (this.breakers && !permit) {
        this.skipped++;
        continue;
      }
      this.pos = i + 1;
      return { ep, permit };
    }
    return undefined;
  }
}
