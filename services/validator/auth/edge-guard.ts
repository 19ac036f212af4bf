import { ConnectError } from "@connectrpc/connect";
import { trace } from "@opentelemetry/api";
import type { Tenant } from "../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { invalidArgument } from "../../lib/rpc/index.js";
import type { Clock } from "../../lib/service/index.js";
import { authenticate, KeyRefused } from "./authenticate.js";
import type { QuotaLedger, RefusalReason } from "./quota.js";
import type { RateLimiter } from "./rate-limiter.js";
import { refuse } from "./refusals.js";
import { refusalOf } from "../edge-metrics.js";
import type { TenantDirectory } from "./tenant-directory.js";

/** The span attribute that names the tenant of a public call. */
export const TENANT_SPAN_ATTRIBUTE = "scoremesh.tenant.id";

export interface EdgeGuardDeps {
  directory: TenantDirectory;
  limiter: RateLimiter;
  ledger: QuotaLedger;
  /** Live validator replicas (each enforces its share of every rate). */
  replicas: () => number;
  /** Wall clock (daily quotas renew at UTC midnight). */
  clock: Clock;
}

/**
 * What the edge checks before it validates a call, in order: the API key (UNAUTHENTICATED), the model
 * (PERMISSION_DENIED), the tenant's largest batch (INVALID_ARGUMENT: sending it again will not help), the rate
 * and the daily quota (RESOURCE_EXHAUSTED with RetryInfo and Retry-After). Rate and quota count rows: a Score
 * is 1, a ScoreBatch of n requests is n. Returns the tenant's id, also set on the active span.
 */
export class EdgeGuard {
  constructor(private readonly d: EdgeGuardDeps) {}

  admit(authorization: string | null, model: string, rows: number): string {
    const tenant = this.identify(authorization, model, rows);
    this.charge(tenant, rows);
    return tenant.id;
  }

  /**
   * The first half of `admit`, which costs nothing: the API key, the model, the tenant's largest batch. A retried
   * call answered from the idempotency cache (services/validator/idempotency/) stops here.
   */
  identify(authorization: string | null, model: string, rows: number): Tenant {
    const now = this.d.clock.now();
    let tenant: Tenant;
    try {
      tenant = authenticate(authorization, this.d.directory, now).tenant;
    } catch (err) {
      if (!(err instanceof KeyRefused)) throw err;
      this.d.ledger.refused(err.tenantId, "unauthenticated", now);
      throw err.error;
    }
    trace.getActiveSpan()?.setAttribute(TENANT_SPAN_ATTRIBUTE, tenant.id);
    const refusal = this.shape(tenant, model, rows);
    if (refusal) this.refuse(tenant, refusal, now);
    return tenant;
  }

  /** The tenant of a call that scores nothing (ReportOutcome): the API key only, no model, rate or quota. */
  tenantOf(authorization: string | null): string {
    const now = this.d.clock.now();
    try {
      return authenticate(authorization, this.d.directory, now).tenant.id;
    } catch (err) {
      if (!(err instanceof KeyRefused)) throw err;
      this.d.ledger.refused(err.tenantId, "unauthenticated", now);
      throw err.error;
    }
  }

  /** The second half of `admit`: the daily quota and the rate, for `rows` rows that will be scored; counts them. */
  charge(tenant: Tenant, rows: number): void {
    const now = this.d.clock.now();
    const refusal = this.spend(tenant, rows, now);
    if (refusal) this.refuse(tenant, refusal, now);
    this.d.ledger.admitted(tenant.id, rows, now);
  }

  private refuse(tenant: Tenant, refusal: { reason: RefusalReason; error: ConnectError }, now: number): never {
    this.d.ledger.refused(tenant.id, refusal.reason, now);
    throw refusalOf(refusal.error, tenant.id);
  }

  private shape(t: Tenant, model: string, rows: number): { reason: RefusalReason; error: ConnectError } | undefined {
    if (model && !t.allowedModels.includes("*") && !t.allowedModels.includes(model))
      return { reason: "model_not_allowed", error: refuse.modelNotAllowed(t.id, model) };
    if (t.maxBatch > 0 && rows > t.maxBatch) {
      const description = `must hold at most ${t.maxBatch} requests for tenant ${t.id}, got ${rows}`;
      return {
        reason: "batch_too_large",
        error: invalidArgument([{ field: "requests", reason: "OVER_TENANT_MAX_BATCH", description }]),
      };
    }
    return undefined;
  }

  private spend(t: Tenant, rows: number, now: number): { reason: RefusalReason; error: ConnectError } | undefined {
    const quota = Number(t.dailyQuota);
    const quotaWait = this.d.ledger.quotaWait(t.id, quota, rows, now);
    if (quotaWait !== undefined) {
      const message = `tenant ${t.id} has used its daily quota of ${quota} rows (it renews at 00:00 UTC)`;
      return { reason: "quota_exhausted", error: refuse.exhausted(message, quotaWait) };
    }
    const rateWait = this.d.limiter.take(t.id, t, this.d.replicas(), rows, now);
    if (rateWait === undefined) return undefined;
    const error = refuse.exhausted(
      `tenant ${t.id} is over its rate of ${t.ratePerSecond} rows/s (burst ${t.burst}); retry in ${rateWait} ms`,
      rateWait,
    );
    return { reason: "rate_limited", error };
  }
}
