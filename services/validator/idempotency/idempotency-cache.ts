import type { Clock } from "../../lib/service/index.js";

export interface IdempotencyLimits {
  /** How long an answer is kept for a retry, ms (VALIDATOR_IDEMPOTENCY_WINDOW_MS); 0 turns the cache off. */
  windowMs: number;
  /** Most entries (VALIDATOR_IDEMPOTENCY_MAX_ENTRIES). */
  maxEntries: number;
  /** Most bytes of entries, estimated (VALIDATOR_IDEMPOTENCY_MAX_BYTES). */
  maxBytes: number;
}

/** One request id's call: in flight (its answer pending) or answered. */
export interface IdempotencyEntry<T> {
  /** What the call asked for (services/validator/idempotency/fingerprint.ts): a reused id with other inputs differs. */
  readonly fingerprint: string;
  /** The answer; concurrent duplicates await the same promise. Rejected when the call failed (then forgotten). */
  readonly answer: Promise<T>;
  readonly at: number;
  bytes: number;
}

/** Settles a reserved entry: with the answer and its estimated size, or with the call's error (forgotten). */
export interface Reservation<T> {
  resolve(value: T, bytes: number): void;
  reject(err: unknown): void;
}

/** Fixed cost of an entry beyond its key and value: the Map slot, the entry object, the promise and its closures, the fingerprint (measured: test/bench/idempotency-cost.ts). */
const ENTRY_OVERHEAD = 600;

/**
 * The edge's idempotency cache: answers by key (tenant and request id) for a window, with concurrent duplicates
 * sharing one in-flight call. Entries are kept in insertion order, which is time order (one window for all), so
 * expiry and eviction take the oldest first, O(1) amortised per call. Bounded by entries and estimated bytes;
 * a failed call is forgotten so that its retry is scored.
 *
 * @example
 *   const hit = cache.get(key);
 *   if (hit) return hit.fingerprint === fp ? hit.answer : refuse();
 *   const r = cache.reserve(key, fp); ... r.resolve(answer, bytes) or r.reject(err)
 */
export class IdempotencyCache<T> {
  private readonly entries = new Map<string, IdempotencyEntry<T>>();
  private bytes = 0;

  constructor(
    private readonly limits: IdempotencyLimits,
    private readonly clock: Clock,
  ) {}

  /** The live entry of `key`, or undefined (none, or older than the window). */
  get(key: string): IdempotencyEntry<T> | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.clock.now() - e.at < this.limits.windowMs) return e;
    this.drop(key, e);
    return undefined;
  }

  /** Records `key` as in flight; the caller settles it once the call has its answer or its error. */
  reserve(key: string, fingerprint: string): Reservation<T> {
    let settle!: { resolve: (v: T) => void; reject: (e: unknown) => void };
    const answer = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
    answer.catch(() => undefined); // no waiter is not an unhandled rejection
    const prev = this.entries.get(key);
    if (prev) this.drop(key, prev);
    const e: IdempotencyEntry<T> = {
      fingerprint,
      answer,
      at: this.clock.now(),
      bytes: ENTRY_OVERHEAD + key.length * 2,
    };
    this.entries.set(key, e);
    this.bytes += e.bytes;
    this.trim();
    return {
      resolve: (value, bytes) => {
        settle.resolve(value);
        if (this.entries.get(key) !== e) return; // evicted meanwhile: waiters still get the answer
        this.bytes += bytes;
        e.bytes += bytes;
        this.trim();
      },
      reject: (err) => {
        settle.reject(err);
        if (this.entries.get(key) === e) this.drop(key, e);
      },
    };
  }

  stats(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  /** Drops expired entries, then the oldest while over a bound. */
  private trim(): void {
    const now = this.clock.now();
    for (const [key, e] of this.entries) {
      const over = this.entries.size > this.limits.maxEntries || this.bytes > this.limits.maxBytes;
      if (!over && now - e.at < this.limits.windowMs) break;
      this.drop(key, e);
    }
  }

  private drop(key: string, e: IdempotencyEntry<T>): void {
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }
}
