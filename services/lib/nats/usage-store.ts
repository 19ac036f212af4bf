import type { KV, NatsConnection } from "nats";
import type { TenantUsage, ValidatorReplica } from "../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { watchKv } from "./kv-watch.js";
import { withReplicas } from "./bucket-replicas.js";
import {
  decodeTenantUsage,
  decodeValidatorReplica,
  encodeTenantUsage,
  encodeValidatorReplica,
} from "./tenant-codec.js";
import { kvKeys } from "./kv-keys.js";

/** The JetStream KV bucket of usage counters: key "<tenant>.<day>.<replica>", one TenantUsage each. */
export const USAGE_BUCKET = "scoremesh_usage";
/** Usage values live two days after their last write: long enough for today's quota and yesterday's report. */
export const USAGE_TTL_MS = 2 * 24 * 3600_000;
/** The JetStream KV bucket of live validator replicas: key = replica id, one ValidatorReplica each. */
export const VALIDATOR_BUCKET = "scoremesh_validators";
/** A replica's record expires this long after its last write (it rewrites it every second). */
export const VALIDATOR_TTL_MS = 5000;

/** The UTC day of `ms`, "YYYY-MM-DD", as usage keys and values name it. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The usage key of a tenant, day and replica (a replica id may hold only KV key characters). */
export function usageKey(tenantId: string, day: string, replica: string): string {
  return `${tenantId}.${day}.${replica}`;
}

/**
 * The validators' shared counting: per-replica usage counters (summed by every reader: no replica's write ever
 * races another's) and the live replicas (so each enforces its share of a tenant's rate).
 *
 * @example
 *   const usage = await UsageStore.open(nc);
 *   await usage.put(u); // every second, for every tenant whose counts changed
 *   const today = await usage.today("payments", Date.now()); // one value per replica
 */
export class UsageStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly usage: KV,
    private readonly replicas: KV,
  ) {}

  static async open(nc: NatsConnection): Promise<UsageStore> {
    const js = nc.jetstream().views;
    const [usage, replicas] = await Promise.all([
      js.kv(USAGE_BUCKET, withReplicas({ history: 1, ttl: USAGE_TTL_MS })),
      js.kv(VALIDATOR_BUCKET, withReplicas({ history: 1, ttl: VALIDATOR_TTL_MS })),
    ]);
    return new UsageStore(nc, usage, replicas);
  }

  async put(u: TenantUsage): Promise<void> {
    await this.usage.put(usageKey(u.tenantId, u.day, u.replica), encodeTenantUsage(u));
  }

  /** Every replica's counters of `tenantId` for the UTC day of `nowMs`. */
  async today(tenantId: string, nowMs: number): Promise<TenantUsage[]> {
    const out: TenantUsage[] = [];
    for (const k of await kvKeys(this.usage, `${tenantId}.${utcDay(nowMs)}.*`)) {
      const e = await this.usage.get(k);
      if (e?.operation === "PUT") out.push(decodeTenantUsage(e.string()));
    }
    return out;
  }

  watchUsage(onUsage: (u: TenantUsage) => void, onError: (err: unknown) => void): Promise<{ close(): void }> {
    return watchKv({
      nc: this.nc,
      kv: this.usage,
      bucket: USAGE_BUCKET,
      decode: decodeTenantUsage,
      onValue: onUsage,
      onError,
    });
  }

  async putReplica(r: ValidatorReplica): Promise<void> {
    await this.replicas.put(r.replica, encodeValidatorReplica(r));
  }

  async removeReplica(replica: string): Promise<void> {
    await this.replicas.delete(replica);
  }

  watchReplicas(
    onReplica: (r: ValidatorReplica) => void,
    onDelete: (replica: string) => void,
    onError: (err: unknown) => void,
  ): Promise<{ close(): void }> {
    return watchKv({
      nc: this.nc,
      kv: this.replicas,
      bucket: VALIDATOR_BUCKET,
      decode: decodeValidatorReplica,
      onValue: onReplica,
      onDelete,
      onError,
    });
  }
}
