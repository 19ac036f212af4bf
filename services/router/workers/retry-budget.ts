import { systemClock, type Clock } from "../../lib/service/index.js";

export interface RetryBudgetOptions {
  /** How long a first attempt or a retry counts against the budget, ms. Default 10 000. */
  ttlMs?: number;
  /** Retries allowed per first attempt in the window (0.2: at most 20 % extra load). Default 0.2. */
  ratio?: number;
  /** Retries allowed per second of the window whatever the traffic, so that a quiet target can still retry. Default 10. */
  minRetriesPerSecond?: number;
  /** Granularity of the window, ms: counts are kept per bucket, `ceil(ttlMs / bucketMs)` buckets. Default 1000. */
  bucketMs?: number;
  clock?: Clock;
}

/** What a budget has seen in its window, and how many retries it refused since it was made. */
export interface RetryBudgetStats {
  firstAttempts: number;
  retries: number;
  /** Retries the budget would still allow now. */
  available: number;
  /** Retries refused since the budget was made. */
  refused: number;
}

/**
 * A retry budget for one target, as in Finagle and Linkerd: every first attempt deposits, every retry
 * withdraws, and a retry is allowed while the retries of the last `ttlMs` stay within `ratio` × the first
 * attempts of that window plus a floor of `minRetriesPerSecond` × the window's seconds. A target that fails
 * everything therefore gets at most `ratio` extra load (plus the floor), however many callers retry. Counts are
 * kept in a ring of `bucketMs` buckets (the window slides by whole buckets), never a list that grows with
 * traffic. Pure logic: the clock is injected, no timers.
 *
 * @example
 *   const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 10, ttlMs: 10_000 });
 *   budget.deposit();                          // a first attempt
 *   try { return await call(); }
 *   catch (err) {
 *     if (!retryable(err) || !budget.tryWithdraw()) throw err;   // refused: no retry
 *     return await call();
 *   }
 */
export class RetryBudget {
  private readonly bucketMs: number;
  private readonly ratio: number;
  private readonly floor: number;
  private readonly clock: Clock;
  private readonly firsts: Float64Array;
  private readonly retried: Float64Array;
  /** Index (time / bucketMs) of the newest bucket written. */
  private head: number;
  private firstsInWindow = 0;
  private retriesInWindow = 0;
  private refusedTotal = 0;
  private refusedSinceReport = 0;
  private lastReport = -Infinity;

  constructor({
    ttlMs = 10_000,
    ratio = 0.2,
    minRetriesPerSecond = 10,
    bucketMs = 1000,
    clock = systemClock,
  }: RetryBudgetOptions = {}) {
    if (!(ttlMs > 0) || !(bucketMs > 0)) throw new RangeError("ttlMs and bucketMs must be positive");
    if (!(ratio >= 0) || !(minRetriesPerSecond >= 0))
      throw new RangeError("ratio and minRetriesPerSecond must not be negative");
    const n = Math.max(1, Math.ceil(ttlMs / bucketMs));
    this.bucketMs = bucketMs;
    this.ratio = ratio;
    this.floor = Math.floor((minRetriesPerSecond * n * bucketMs) / 1000);
    this.clock = clock;
    this.firsts = new Float64Array(n);
    this.retried = new Float64Array(n);
    this.head = Math.floor(clock.now() / bucketMs);
  }

  /** Records a first attempt: it earns `ratio` of a retry for the window. */
  deposit(): void {
    const i = this.advance();
    this.firsts[i]!++;
    this.firstsInWindow++;
  }

  /** Takes one retry from the budget: true when it is allowed (and counted), false when the budget refuses. */
  tryWithdraw(): boolean {
    const i = this.advance();
    if (this.retriesInWindow + 1 > this.allowance()) {
      this.refusedTotal++;
      this.refusedSinceReport++;
      return false;
    }
    this.retried[i]!++;
    this.retriesInWindow++;
    return true;
  }

  /** Retries the budget would allow now. */
  available(): number {
    this.advance();
    return Math.max(0, this.allowance() - this.retriesInWindow);
  }

  /**
   * For logs: the number of retries refused since the last report, when there were some and at least
   * `minIntervalMs` has passed since then; undefined otherwise (a refusing budget logs one line a second, not one per call).
   */
  refusalReport(minIntervalMs = 1000): number | undefined {
    const now = this.clock.now();
    if (this.refusedSinceReport === 0 || now - this.lastReport < minIntervalMs) return undefined;
    const n = this.refusedSinceReport;
    this.refusedSinceReport = 0;
    this.lastReport = now;
    return n;
  }

  stats(): RetryBudgetStats {
    const available = this.available();
    return { firstAttempts: this.firstsInWindow, retries: this.retriesInWindow, available, refused: this.refusedTotal };
  }

  /** Retries allowed in the window (the epsilon keeps 0.29 × 100 = 28.999999999999996 at 29). */
  private allowance(): number {
    return Math.floor(this.ratio * this.firstsInWindow + 1e-9) + this.floor;
  }

  /** Moves the window to now, emptying the buckets that fell out of it; returns the current bucket's slot. */
  private advance(): number {
    const n = this.firsts.length;
    const index = Math.floor(this.clock.now() / this.bucketMs);
    if (index > this.head) {
      const steps = Math.min(index - this.head, n);
      for (let k = 1; k <= steps; k++) {
        const slot = (this.head + k) % n;
        this.firstsInWindow -= this.firsts[slot]!;
        this.retriesInWindow -= this.retried[slot]!;
        this.firsts[slot] = 0;
        this.retried[slot] = 0;
      }
      this.head = index;
    }
    return ((this.head % n) + n) % n;
  }
}

/**
 * One `RetryBudget` per target, created on first use, all with the same options. The router keys them by
 * model and version: the logical target whose replicas a call fails over among, so that every caller of the
 * target shares one budget.
 *
 * @example
 *   const budgets = new RetryBudgets({ ratio: 0.2, minRetriesPerSecond: 10 });
 *   const budget = budgets.for("credit-default/3");
 */
export class RetryBudgets {
  private readonly budgets = new Map<string, RetryBudget>();

  constructor(private readonly opts: RetryBudgetOptions = {}) {}

  for(target: string): RetryBudget {
    let b = this.budgets.get(target);
    if (!b) {
      b = new RetryBudget(this.opts);
      this.budgets.set(target, b);
    }
    return b;
  }

  stats(): Record<string, RetryBudgetStats> {
    return Object.fromEntries([...this.budgets].map(([k, b]) => [k, b.stats()]));
  }
}
