import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { TenantUsageSchema, type TenantUsage } from "../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { utcDay } from "../../lib/nats/index.js";

/** Why a call was refused, as usage counts it (TenantUsage.refused). */
export type RefusalReason =
  "unauthenticated" | "model_not_allowed" | "batch_too_large" | "rate_limited" | "quota_exhausted";

interface Counts {
  day: string;
  calls: number;
  rows: number;
  refused: Map<string, number>;
  dirty: boolean;
}

/**
 * The daily quotas of every tenant, as one validator replica sees them: its own counts for today, and the last
 * counts every other replica wrote to the usage bucket (`seen`). A call is admitted (`quotaWait`) while this replica's rows
 * plus the others' last known rows stay within the quota; the others' counts are at most about a second old
 * (they write every second), which bounds the overshoot to what the other replicas admit in that second. Pure:
 * time comes in as `nowMs` (wall clock: the quota's day is the UTC day).
 */
export class QuotaLedger {
  private readonly own = new Map<string, Counts>();
  /** tenant -> replica -> rows, for today only. */
  private readonly others = new Map<string, Map<string, number>>();
  private othersDay = "";

  constructor(private readonly replica: string) {}

  /** Undefined when the tenant's quota allows `rows` more rows today; else the ms until it renews (UTC midnight). */
  quotaWait(tenantId: string, dailyQuota: number, rows: number, nowMs: number): number | undefined {
    if (dailyQuota > 0 && this.used(tenantId, nowMs) + rows > dailyQuota) return untilUtcMidnight(nowMs);
    return undefined;
  }

  /** Counts an admitted call of `rows` rows. */
  admitted(tenantId: string, rows: number, nowMs: number): void {
    const c = this.counts(tenantId, nowMs);
    c.calls++;
    c.rows += rows;
    c.dirty = true;
  }

  /** Rows counted today for the tenant by every replica (this one live, the others as last written). */
  used(tenantId: string, nowMs: number): number {
    this.rollOthers(nowMs);
    let sum = this.counts(tenantId, nowMs).rows;
    for (const rows of this.others.get(tenantId)?.values() ?? []) sum += rows;
    return sum;
  }

  refused(tenantId: string, reason: RefusalReason, nowMs: number): void {
    this.count(this.counts(tenantId, nowMs), reason);
  }

  /** A value another replica (or an earlier process of this one) wrote to the usage bucket. */
  seen(u: TenantUsage, nowMs: number): void {
    if (u.replica === this.replica) return;
    this.rollOthers(nowMs);
    if (u.day !== this.othersDay) return;
    let m = this.others.get(u.tenantId);
    if (!m) this.others.set(u.tenantId, (m = new Map<string, number>()));
    m.set(u.replica, Number(u.rows));
  }

  /** This replica's counts that changed since the last call, as usage values to write. */
  takeChanged(nowMs: number): TenantUsage[] {
    const out: TenantUsage[] = [];
    for (const [tenantId, c] of this.own) {
      if (!c.dirty) continue;
      c.dirty = false;
      out.push(
        create(TenantUsageSchema, {
          tenantId,
          day: c.day,
          replica: this.replica,
          calls: BigInt(c.calls),
          rows: BigInt(c.rows),
          refused: Object.fromEntries([...c.refused].map(([k, v]) => [k, BigInt(v)])),
          updatedAt: timestampFromMs(nowMs),
        }),
      );
    }
    return out;
  }

  private counts(tenantId: string, nowMs: number): Counts {
    const day = utcDay(nowMs);
    let c = this.own.get(tenantId);
    if (!c || c.day !== day) this.own.set(tenantId, (c = { day, calls: 0, rows: 0, refused: new Map(), dirty: false }));
    return c;
  }

  private count(c: Counts, reason: RefusalReason): void {
    c.refused.set(reason, (c.refused.get(reason) ?? 0) + 1);
    c.dirty = true;
  }

  private rollOthers(nowMs: number): void {
    const day = utcDay(nowMs);
    if (day === this.othersDay) return;
    this.othersDay = day;
    this.others.clear();
  }
}

/** Ms from `nowMs` to the next UTC midnight, when daily quotas renew. */
export function untilUtcMidnight(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - nowMs;
}
