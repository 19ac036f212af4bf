/** Options of {@link LoadHealth}. */
export interface LoadHealthOptions {
  /** How long after the last refused request the worker stays NOT_SERVING, at least. Default 250 ms. */
  holdMs?: number;
  /** The queues must be below this share of their capacity before the worker serves again. Default 0.5. */
  resumeBelowFill?: number;
}

/**
 * Whether a worker's batch queues are saturated: a worker that had to refuse a request (its queue was full)
 * reports NOT_SERVING at once, so that routers stop sending to it, and SERVING again once it has refused nothing
 * for `holdMs` and its fullest queue is below `resumeBelowFill` of its capacity. Pure: the caller passes the time.
 *
 * @example
 *   const load = new LoadHealth({ holdMs: 250 });
 *   if (load.refused(performance.now())) host.setServing(false, "batch queue saturated");
 *   // every 100 ms:
 *   if (load.evaluate(performance.now(), fullestQueueFill())) host.setServing(true, "queue drained");
 */
export class LoadHealth {
  private saturated = false;
  private lastRefusal = -Infinity;
  private readonly holdMs: number;
  private readonly resumeBelowFill: number;

  constructor({ holdMs = 250, resumeBelowFill = 0.5 }: LoadHealthOptions = {}) {
    this.holdMs = holdMs;
    this.resumeBelowFill = resumeBelowFill;
  }

  /** A request was refused for a full queue. Returns true when this makes the worker saturated. */
  refused(now: number): boolean {
    this.lastRefusal = now;
    if (this.saturated) return false;
    this.saturated = true;
    return true;
  }

  /** Returns true when the worker recovers (the hold is over and the queues have drained). */
  evaluate(now: number, fullestQueueFill: number): boolean {
    if (!this.saturated) return false;
    if (now - this.lastRefusal < this.holdMs || fullestQueueFill >= this.resumeBelowFill) return false;
    this.saturated = false;
    return true;
  }

  isSaturated(): boolean {
    return this.saturated;
  }
}
