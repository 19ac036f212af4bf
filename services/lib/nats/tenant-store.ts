import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampNow } from "@bufbuild/protobuf/wkt";
import type { KV, NatsConnection } from "nats";
import { ApiKeySchema, TenantSchema, type Tenant } from "../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { newApiKey } from "./api-key.js";
import { watchKv } from "./kv-watch.js";
import { decodeTenant, encodeTenant, TENANT_SCHEMA_VERSION, tenantProblem } from "./tenant-codec.js";

/** The JetStream KV bucket that holds one Tenant per tenant, keyed by the tenant's id. */
export const TENANT_BUCKET = "scoremesh_tenants";

/** A tenant's settings, as `meshctl tenant create` takes them. */
export type TenantSettings = Pick<
  Tenant,
  "id" | "allowedModels" | "ratePerSecond" | "burst" | "dailyQuota" | "maxBatch"
>;

/** A tenant written, with the key made for it (printed once: the bucket keeps only its hash). */
export interface TenantWithKey {
  tenant: Tenant;
  key: string;
  keyId: string;
}

/** A tenant that exists already (create) or does not exist (update). */
export class TenantStoreError extends Error {
  override readonly name = "TenantStoreError";
}

/**
 * The tenants of the mesh in a JetStream KV bucket (protobuf JSON of scoremesh.tenant.v1.Tenant with a schema
 * version): meshctl and the launcher write them, every validator watches them. Every write goes through
 * `write`, with optimistic concurrency (a tenant changed meanwhile is read again and the change re-applied).
 *
 * @example
 *   const store = await TenantStore.open(nc);
 *   const { key } = await store.create({ id: "payments", allowedModels: ["*"], ratePerSecond: 50, burst: 100, dailyQuota: 0n, maxBatch: 0 }, "meshctl@ana");
 */
export class TenantStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
  ) {}

  static async open(nc: NatsConnection): Promise<TenantStore> {
    return new TenantStore(nc, await nc.jetstream().views.kv(TENANT_BUCKET, { history: 16 }));
  }

  async get(id: string): Promise<Tenant | undefined> {
    return (await this.entry(id))?.tenant;
  }

  async list(): Promise<Tenant[]> {
    const ids: string[] = [];
    for await (const k of await this.kv.keys()) ids.push(k);
    const tenants = await Promise.all(ids.sort().map((id) => this.get(id)));
    return tenants.filter((t): t is Tenant => t !== undefined);
  }

  /** Creates a tenant with one new key; fails with TenantStoreError when the id is taken. */
  async create(settings: TenantSettings, by: string): Promise<TenantWithKey> {
    const k = newApiKey();
    const now = timestampNow();
    const tenant = create(TenantSchema, {
      ...settings,
      keys: [{ keyId: k.keyId, secretSha256: k.secretSha256, createdAt: now }],
      createdAt: now,
    });
    const problem = tenantProblem(tenant);
    if (problem) throw new TenantStoreError(`tenant ${settings.id}: ${problem}`);
    return { tenant: await this.write(tenant, by, 0), key: k.key, keyId: k.keyId };
  }

  /**
   * Gives the tenant a new key; its other valid keys are revoked now (`graceMs` 0) or expire after `graceMs`.
   */
  async rotate(id: string, by: string, graceMs = 0): Promise<TenantWithKey> {
    const k = newApiKey();
    const tenant = await this.update(id, by, (t) => {
      const now = Date.now();
      for (const old of t.keys) {
        if (old.revokedAt) continue;
        if (graceMs <= 0) old.revokedAt = timestampFromMs(now);
        else if (!old.expiresAt) old.expiresAt = timestampFromMs(now + graceMs);
      }
      t.keys.push(
        create(ApiKeySchema, { keyId: k.keyId, secretSha256: k.secretSha256, createdAt: timestampFromMs(now) }),
      );
    });
    return { tenant, key: k.key, keyId: k.keyId };
  }

  /** Revokes the tenant: every one of its keys is refused from now on. */
  revoke(id: string, by: string): Promise<Tenant> {
    return this.update(id, by, (t) => {
      t.revoked = true;
    });
  }

  /** Applies `change` to the current value and writes it, again on a concurrent write; TenantStoreError when absent. */
  async update(id: string, by: string, change: (t: Tenant) => void): Promise<Tenant> {
    for (let attempt = 0; ; attempt++) {
      const e = await this.entry(id);
      if (!e) throw new TenantStoreError(`no tenant ${id}`);
      change(e.tenant);
      try {
        return await this.write(e.tenant, by, e.revision);
      } catch (err) {
        if (attempt >= 4 || !wrongRevision(err)) throw err;
      }
    }
  }

  /** Calls `onTenant` with every tenant, then with every change; `onDelete` when a tenant's key is removed. */
  watch(
    onTenant: (t: Tenant) => void,
    onDelete: (id: string) => void,
    onError: (err: unknown) => void,
  ): Promise<{ close(): void }> {
    return watchKv({
      nc: this.nc,
      kv: this.kv,
      bucket: TENANT_BUCKET,
      decode: decodeTenant,
      onValue: onTenant,
      onDelete,
      onError,
    });
  }

  private async entry(id: string): Promise<{ tenant: Tenant; revision: number } | undefined> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== "PUT") return undefined;
    return { tenant: decodeTenant(e.string()), revision: e.revision };
  }

  /**
   * The one place a tenant value is written: stamped (updated_at, updated_by, schema version) and stored if the
   * key is still at `revision` (0: only if the tenant does not exist yet).
   */
  private async write(tenant: Tenant, by: string, revision: number): Promise<Tenant> {
    const t = create(TenantSchema, {
      ...tenant,
      updatedAt: timestampNow(),
      updatedBy: by,
      schemaVersion: TENANT_SCHEMA_VERSION,
    });
    const value = encodeTenant(t);
    if (revision > 0) await this.kv.update(t.id, value, revision);
    else
      await this.kv.create(t.id, value).catch((err: unknown) => {
        throw wrongRevision(err) ? new TenantStoreError(`tenant ${t.id} exists already`, { cause: err }) : err;
      });
    return t;
  }
}

/** JetStream's "wrong last sequence" (10071): the key changed since it was read, or exists already. */
function wrongRevision(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code === 10071;
}
