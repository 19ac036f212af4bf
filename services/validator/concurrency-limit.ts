import type { Clock } from "../lib/service/index.js";

/** How a call admitted by the limit ended: its latency is a sample ("ok"), a sign of overload ("dropped"), or neither. */
export type CallOutcome = "ok" | "dropped" | "ignored";

/** An admitted call; `release` it exactly once when its answer has gone (later calls are no-ops). */
export interface Ticket {
  release(outcome: CallOutcome): void;
}

export interface ConcurrencyLimitOptions {
  /** Limit at start (default 20). */
  initialLimit?: number;
  /** Never below (default 4) or above (default 1000). */
  minLimit?: number;
  maxLimit?: number;
  /** Latency may grow to this multiple of the long-term baseline before the limit shrinks (default 2). */
  tolerance?: number;
  /** Weight of each new estimate in the limit (default 0.2). */
  smoothing?: number;
  /** Samples are averaged over windows of this many ms (default 100) and at least `minWindowSamples` (default 10). */
  windowMs?: number;
  minWindowSamples?: number;
  /** The baseline latency is an average over about this many windows (default 100). */
  longWindows?: number;
  /** A dropped call (deadline passed, downstream overloaded) cuts the limit by this factor (default 0.9). */
  backoff?: number;
  /**
   * Asked once per window: true when the process itself is saturated (its event loop busy nearly all the time),
   * which cuts the limit like a drop. Latency alone reacts late to a flood; a busy loop also delays the refusals
   * and the accepts of new connections, so the limit must leave it room (default: never).
   */
  saturated?: () => boolean;
}

/**
 * An adaptive concurrency limit in the manner of Netflix concurrency-limits' Gradient2, with AIMD's backoff on
 * drops: calls beyond the limit are refused at once; each window's average latency (`shortRtt`) is compared
 * with a slow average of past windows (`longRtt`, the baseline). While `shortRtt` stays within `tolerance` ×
 * baseline the limit grows by √limit per window (only when at least half of it is used); beyond, it shrinks in
 * proportion (at most by half per window). When the baseline is more than twice the current latency it decays
 * towards it (the overload that raised it is over). A window with dropped calls, or in which the process was
 * saturated (`saturated`), cuts the limit by `backoff`. Pure: the time comes from the injected Clock.
 *
 * @example
 *   const limit = new AdaptiveConcurrencyLimit({ maxLimit: 500 }, systemClock);
 *   const ticket = limit.tryAcquire();
 *   if (!ticket) return refuse(); // RESOURCE_EXHAUSTED / 429
 *   try { ...; ticket.release("ok") } catch { ticket.release("dropped") }
 */
export class AdaptiveConcurrencyLimit {
  private estimate: number;
  private active = 0;
  private longRtt = 0;
  private windowStart: number;
  private sum = 0;
  private count = 0;
  private maxActive = 0;
  private dropped = false;
  private readonly o: Required<ConcurrencyLimitOptions>;

  constructor(
    opts: ConcurrencyLimitOptions,
    private readonly clock: Clock,
  ) {
    this.o = {
      initialLimit: 20,
      minLimit: 4,
      maxLimit: 1000,
      tolerance: 2,
      smoothing: 0.2,
      windowMs: 100,
      minWindowSamples: 10,
      longWindows: 100,
      backoff: 0.9,
      saturated: () => false,
      ...opts,
    };
    this.estimate = clamp(this.o.initialLimit, this.o.minLimit, this.o.maxLimit);
    this.windowStart = clock.now();
  }

  /** The current limit (whole calls). */
  get limit(): number {
    return Math.floor(this.estimate);
  }

  get inFlight(): number {
    return this.active;
  }

  /** The baseline latency in ms (0 before the first window). */
  get baselineMs(): number {
    return this.longRtt;
  }

  /** Admits a call (a ticket) or refuses it (undefined) when the calls in flight have reached the limit. */
  tryAcquire(): Ticket | undefined {
    if (this.active >= this.limit) return undefined;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const start = this.clock.now();
    let released = false;
    return {
      release: (outcome) => {
        if (released) return;
        released = true;
        this.active--;
        this.sample(this.clock.now() - start, outcome);
      },
    };
  }

  private sample(rtt: number, outcome: CallOutcome): void {
    if (outcome === "dropped") this.dropped = true;
    else if (outcome === "ok") {
      this.sum += rtt;
      this.count++;
    }
    const now = this.clock.now();
    if (now - this.windowStart < this.o.windowMs) return;
    if (this.count < this.o.minWindowSamples && !this.dropped) return;
    this.update(this.count > 0 ? this.sum / this.count : undefined);
    this.windowStart = now;
    this.sum = this.count = 0;
    this.maxActive = this.active;
    this.dropped = false;
  }

  private update(shortRtt: number | undefined): void {
    const { tolerance, smoothing, longWindows, minLimit, maxLimit, backoff } = this.o;
    let next = this.estimate;
    if (shortRtt !== undefined) {
      this.longRtt = this.longRtt === 0 ? shortRtt : this.longRtt + (shortRtt - this.longRtt) / longWindows;
      if (this.longRtt > 2 * shortRtt) this.longRtt *= 0.95;
      const appLimited = this.maxActive < this.estimate / 2;
      const gradient = clamp((tolerance * this.longRtt) / Math.max(shortRtt, 1e-3), 0.5, 1);
      const target = this.estimate * gradient + (appLimited ? 0 : Math.sqrt(this.estimate));
      next = appLimited ? Math.min(this.estimate, target) : target;
      next = this.estimate * (1 - smoothing) + next * smoothing;
    }
    // A saturated loop cuts the limit unless latency is falling (the overload that saturated it is draining: the
    // loop is busy refusing, and cutting further would keep the limit low after the overload has ended).
    const saturated = this.o.saturated() && (shortRtt === undefined || shortRtt >= this.longRtt);
    if (this.dropped || saturated) next = Math.min(next, this.estimate * backoff);
    this.estimate = clamp(next, minLimit, maxLimit);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
