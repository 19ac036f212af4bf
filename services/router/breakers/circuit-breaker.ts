import { systemClock, type Clock } from "../../lib/service/index.js";

/** A breaker's state: CLOSED lets calls through, OPEN refuses them, HALF_OPEN lets a few trial calls through. */
export type BreakerState = "CLOSED" | "OPEN" | "HALF_OPEN";

export interface CircuitBreakerOptions {
  /** Calls kept in the sliding window (count-based, like resilience4j's COUNT_BASED). Default 20. */
  windowSize?: number;
  /** Calls the window must hold before the rates are judged. Default 10. */
  minimumCalls?: number;
  /** Failure rate (0..1) at or above which the breaker opens. Default 0.5. */
  failureRateThreshold?: number;
  /** A call that took at least this long (ms) counts as slow. Default 1000. */
  slowCallDurationMs?: number;
  /** Slow-call rate (0..1) at or above which the breaker opens (a worker that hangs). Default 0.8. */
  slowCallRateThreshold?: number;
  /** How long the breaker stays OPEN before it lets trial calls through (ms). Default 2000. */
  waitInOpenMs?: number;
  /** Trial calls let through in HALF_OPEN; all of them decide whether it closes or opens again. Default 3. */
  halfOpenTrialCalls?: number;
  clock?: Clock;
  /** Called on every state change, local or adopted (`adopted`: set by a remote replica's message). */
  onTransition?: (t: { from: BreakerState; to: BreakerState; adopted: boolean }) => void;
}

/** A permission to make one call; its outcome must be recorded exactly once (or the permit released). */
export interface BreakerPermit {
  /** The call finished: `failed` when it counts as a failure, `durationMs` for the slow-call rate. */
  record(failed: boolean, durationMs: number): void;
  /** The call was not made or its outcome says nothing about the target (e.g. the caller cancelled). */
  release(): void;
}

/**
 * A circuit breaker for one target (e.g. one worker endpoint and model version): CLOSED → OPEN when the failure
 * rate or the slow-call rate over a count-based sliding window reaches its threshold (once the window holds
 * `minimumCalls`), OPEN → HALF_OPEN after `waitInOpenMs`, HALF_OPEN → CLOSED when `halfOpenTrialCalls` trial
 * calls all stay under the thresholds, else back to OPEN. Pure logic: the clock is injected, no timers.
 *
 * @example
 *   const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, minimumCalls: 10, waitInOpenMs: 2000 });
 *   const permit = breaker.tryAcquire();
 *   if (!permit) return fallback();           // OPEN, or HALF_OPEN with every trial taken
 *   const t0 = performance.now();
 *   try { const r = await call(); permit.record(false, performance.now() - t0); return r; }
 *   catch (err) { permit.record(true, performance.now() - t0); throw err; }
 */
export class CircuitBreaker {
  private readonly o: Required<Omit<CircuitBreakerOptions, "onTransition">> &
    Pick<CircuitBreakerOptions, "onTransition">;
  private current: BreakerState = "CLOSED";
  /** Ring of outcomes: bit 1 failed, bit 2 slow. */
  private readonly window: Uint8Array;
  private next = 0;
  private filled = 0;
  private openedAt = 0;
  private openFor = 0;
  private trialsOut = 0;
  private trialsDone = 0;
  private trialsFailed = 0;
  private trialsSlow = 0;

  constructor({
    windowSize = 20,
    minimumCalls = 10,
    failureRateThreshold = 0.5,
    slowCallDurationMs = 1000,
    slowCallRateThreshold = 0.8,
    waitInOpenMs = 2000,
    halfOpenTrialCalls = 3,
    clock = systemClock,
    onTransition,
  }: CircuitBreakerOptions = {}) {
    if (minimumCalls > windowSize)
      throw new RangeError(`minimumCalls (${minimumCalls}) must not exceed windowSize (${windowSize})`);
    if (halfOpenTrialCalls < 1) throw new RangeError("halfOpenTrialCalls must be at least 1");
    this.o = {
      windowSize,
      minimumCalls,
      failureRateThreshold,
      slowCallDurationMs,
      slowCallRateThreshold,
      waitInOpenMs,
      halfOpenTrialCalls,
      clock,
      onTransition,
    };
    this.window = new Uint8Array(windowSize);
  }

  /** The state now (an OPEN breaker whose wait is over reads HALF_OPEN). */
  get state(): BreakerState {
    if (this.current === "OPEN" && this.o.clock.now() - this.openedAt >= this.openFor) this.moveTo("HALF_OPEN", false);
    return this.current;
  }

  /** True when a call would be let through now (does not take a trial permit). */
  allows(): boolean {
    const s = this.state;
    return s === "CLOSED" || (s === "HALF_OPEN" && this.trialsOut + this.trialsDone < this.o.halfOpenTrialCalls);
  }

  /** A permit for one call, or undefined when the breaker refuses it. */
  tryAcquire(): BreakerPermit | undefined {
    const s = this.state;
    if (s === "OPEN") return undefined;
    if (s === "HALF_OPEN") {
      if (this.trialsOut + this.trialsDone >= this.o.halfOpenTrialCalls) return undefined;
      this.trialsOut++;
    }
    const trial = s === "HALF_OPEN";
    let done = false;
    return {
      record: (failed, durationMs) => {
        if (done) return;
        done = true;
        this.onOutcome(trial, failed, durationMs >= this.o.slowCallDurationMs);
      },
      release: () => {
        if (done) return;
        done = true;
        if (trial && this.current === "HALF_OPEN") this.trialsOut--;
      },
    };
  }

  /**
   * Opens the breaker because another replica opened it (no outcome of ours): it stays OPEN for `waitMs`
   * (default the full wait), then our own trial calls decide. Does nothing when already OPEN.
   */
  forceOpen(waitMs = this.o.waitInOpenMs): void {
    if (this.current === "OPEN") return;
    this.open(Math.max(0, Math.min(waitMs, this.o.waitInOpenMs)), true);
  }

  /** Another replica recovered the target: an OPEN breaker stops waiting and tries its own trial calls now. */
  tryRecovery(): void {
    if (this.current === "OPEN") this.moveTo("HALF_OPEN", true);
  }

  /** Failure and slow-call rates over the window (NaN below `minimumCalls`). */
  rates(): { calls: number; failureRate: number; slowCallRate: number } {
    let failed = 0;
    let slow = 0;
    for (let i = 0; i < this.filled; i++) {
      const b = this.window[i]!;
      if (b & 1) failed++;
      if (b & 2) slow++;
    }
    const judged = this.filled >= this.o.minimumCalls;
    return {
      calls: this.filled,
      failureRate: judged ? failed / this.filled : NaN,
      slowCallRate: judged ? slow / this.filled : NaN,
    };
  }

  private onOutcome(trial: boolean, failed: boolean, slow: boolean): void {
    if (trial) {
      if (this.current !== "HALF_OPEN") return; // adopted OPEN meanwhile: the trial's outcome is moot
      this.trialsOut--;
      this.trialsDone++;
      if (failed) this.trialsFailed++;
      if (slow) this.trialsSlow++;
      const n = this.o.halfOpenTrialCalls;
      if (this.trialsFailed / n >= this.o.failureRateThreshold || this.trialsSlow / n >= this.o.slowCallRateThreshold) {
        this.open(this.o.waitInOpenMs, false);
      } else if (this.trialsDone >= n) {
        this.moveTo("CLOSED", false);
      }
      return;
    }
    if (this.current !== "CLOSED") return; // a call let through before the breaker opened
    this.window[this.next] = (failed ? 1 : 0) | (slow ? 2 : 0);
    this.next = (this.next + 1) % this.o.windowSize;
    this.filled = Math.min(this.filled + 1, this.o.windowSize);
    const r = this.rates();
    if (r.failureRate >= this.o.failureRateThreshold || r.slowCallRate >= this.o.slowCallRateThreshold)
      this.open(this.o.waitInOpenMs, false);
  }

  private open(waitMs: number, adopted: boolean): void {
    this.openedAt = this.o.clock.now();
    this.openFor = waitMs;
    this.moveTo("OPEN", adopted);
  }

  private moveTo(to: BreakerState, adopted: boolean): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.trialsOut = this.trialsDone = this.trialsFailed = this.trialsSlow = 0;
    if (to === "CLOSED") {
      this.filled = this.next = 0;
    }
    this.o.onTransition?.({ from, to, adopted });
  }
}
