/** A tenant's rate settings: rows per second and the bucket's size (scoremesh.tenant.v1.Tenant). */
export interface RateSettings {
  ratePerSecond: number;
  burst: number;
}

/** A refusal's retry delay in ms, or undefined when the call is admitted. */
export type RetryAfterMs = number | undefined;

/**
 * A token bucket: `capacity` tokens, refilled at `ratePerSecond`. A call of `cost` tokens is admitted when the
 * bucket holds min(cost, capacity) of them, and takes all `cost` (the bucket may go below zero), so a batch larger
 * than the bucket is admitted at the sustained rate instead of never. Pure: time comes in as `nowMs`.
 *
 * @example
 *   const b = new TokenBucket({ ratePerSecond: 10, burst: 20 }, clock.now());
 *   const wait = b.take(1, clock.now()); // undefined: admitted; else ms until it would be
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private settings: RateSettings,
    nowMs: number,
  ) {
    this.tokens = settings.burst;
    this.at = nowMs;
  }

  /** Takes `cost` tokens if there are enough; otherwise how long until there would be. */
  take(cost: number, nowMs: number): RetryAfterMs {
    this.refill(nowMs);
    const need = Math.min(cost, this.settings.burst);
    if (this.tokens >= need) {
      this.tokens -= cost;
      return undefined;
    }
    return Math.ceil(((need - this.tokens) / this.settings.ratePerSecond) * 1000);
  }

  /** New settings (the tenant changed, or the number of replicas sharing it); tokens above the new size are dropped. */
  resize(settings: RateSettings, nowMs: number): void {
    this.refill(nowMs);
    this.settings = settings;
    this.tokens = Math.min(this.tokens, settings.burst);
  }

  private refill(nowMs: number): void {
    const dt = Math.max(0, nowMs - this.at) / 1000;
    this.at = nowMs;
    this.tokens = Math.min(this.settings.burst, this.tokens + dt * this.settings.ratePerSecond);
  }
}

/**
 * One token bucket per tenant, each with this replica's share of the tenant's rate and burst: with `replicas`
 * validators, 1/replicas of each (the burst at least 1), so that the sum over replicas holds the tenant's limit.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { bucket: TokenBucket; key: string }>();

  take(tenantId: string, settings: RateSettings, replicas: number, cost: number, nowMs: number): RetryAfterMs {
    const n = Math.max(1, replicas);
    const share = { ratePerSecond: settings.ratePerSecond / n, burst: Math.max(1, settings.burst / n) };
    const key = `${share.ratePerSecond}/${share.burst}`;
    let b = this.buckets.get(tenantId);
    if (!b) this.buckets.set(tenantId, (b = { bucket: new TokenBucket(share, nowMs), key }));
    else if (b.key !== key) {
      b.bucket.resize(share, nowMs);
      b.key = key;
    }
    return b.bucket.take(cost, nowMs);
  }

  /** Forgets a tenant (deleted or revoked). */
  forget(tenantId: string): void {
    this.buckets.delete(tenantId);
  }
}
