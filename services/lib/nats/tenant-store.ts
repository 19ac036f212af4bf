import { isWrongRevision } from "./kv-errors.js";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampNow } from "@bufbuild/protobuf/wkt";
import type { KV, NatsConnection } from "nats";
import { ApiKeySchema, TenantSchema, type Tenant } from "../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { newApiKey } from "./api-key.js";
import { watchKv } from "./kv-watch.js";
import { withReplicas } from "./bucket-replicas.js";
import { SignatureError, type Signer } from "./signed-value.js";
import {
  readSignedTenant,
  TENANT_BUCKET,
  TENANT_SCHEMA_VERSION,
  tenantProblem,
  writeSignedTenant,
} from "./tenant-codec.js";
import type { TrustedOperators } from "./trusted-operators.js";
import { kvKeys } from "./kv-keys.js";

/** Whose signatures a reader accepts, and (for a writer: meshctl, the launcher) the operator key it signs with. */
export interface TenantTrust {
  trusted: TrustedOperators;
  signer?: Signer;
}

/** A tenant value readers refuse (unsigned, untrusted signer, altered, invalid), and why. */
export interface RefusedTenant {
  id: string;
  reason: string;
}

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
 * version, inside a scoremesh.signing.v1.Signed envelope): meshctl and the launcher write them signed with an
 * operator key, every validator watches them and accepts only values signed by a trusted operator, so a NATS
 * writer that is not an operator cannot grant itself a tenant (docs/security.md). `updated_by` is the verified
 * signer. Every write goes through `write`, with optimistic concurrency (a tenant changed meanwhile is read
 * again and the change re-applied).
 *
 * @example
 *   const store = await TenantStore.open(nc, { trusted, signer });
 *   const { key } = await store.create({ id: "payments", allowedModels: ["*"], ratePerSecond: 50, burst: 100, dailyQuota: 0n, maxBatch: 0 });
 */
export class TenantStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly trust: TenantTrust,
  ) {}

  static async open(nc: NatsConnection, trust: TenantTrust): Promise<TenantStore> {
    return new TenantStore(nc, await nc.jetstream().views.kv(TENANT_BUCKET, withReplicas({ history: 16 })), trust);
  }

  /** The tenant as validators see it, undefined when none; throws when its value is refused (see readSignedTenant). */
  async get(id: string): Promise<Tenant | undefined> {
    return (await this.entry(id))?.tenant;
  }

  /** The tenant's value as stored (signed or not) and its revision, for checks and repairs; undefined when none. */
  async raw(id: string): Promise<{ text: string; revision: number } | undefined> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== "PUT") return undefined;
    return { text: e.string(), revision: e.revision };
  }

  /** Every tenant validators accept, by id, and every value they refuse, with why. */
  async list(): Promise<{ tenants: Tenant[]; refused: RefusedTenant[] }> {
    const ids = await kvKeys(this.kv);
    const tenants: Tenant[] = [];
    const refused: RefusedTenant[] = [];
    for (const id of ids.sort()) {
      try {
        const t = await this.get(id);
        if (t) tenants.push(t);
      } catch (err) {
        refused.push({ id, reason: refusalReason(err) });
      }
    }
    return { tenants, refused };
  }

  /** Creates a tenant with one new key; fails with TenantStoreError when the id is taken. */
  create(settings: TenantSettings): Promise<TenantWithKey> {
    return this.issue(settings, 0);
  }

  /**
   * Writes a new tenant with one new key over a value readers refuse (an unsigned one from an older build, a
   * forged one), if the key is still at `revision`; the refused value stays in the bucket's history.
   */
  replace(settings: TenantSettings, revision: number): Promise<TenantWithKey> {
    return this.issue(settings, revision);
  }

  /**
   * Creates the tenant, or writes it over a value readers refuse (`meshctl tenant create --replace-refused`: a
   * tenant of an older build, a forged one); a tenant readers accept is left alone (TenantStoreError).
   */
  async createOverRefused(settings: TenantSettings): Promise<TenantWithKey> {
    const raw = await this.raw(settings.id);
    if (!raw) return this.create(settings);
    try {
      readSignedTenant(raw.text, settings.id, this.trust.trusted);
    } catch {
      return this.replace(settings, raw.revision);
    }
    throw new TenantStoreError(`tenant ${settings.id} exists and is valid: rotate or revoke it instead`);
  }

  private async issue(settings: TenantSettings, revision: number): Promise<TenantWithKey> {
    const k = newApiKey();
    const now = timestampNow();
    const tenant = create(TenantSchema, {
      ...settings,
      keys: [{ keyId: k.keyId, secretSha256: k.secretSha256, createdAt: now }],
      createdAt: now,
    });
    const problem = tenantProblem(tenant);
    if (problem) throw new TenantStoreError(`tenant ${settings.id}: ${problem}`);
    return { tenant: await this.write(tenant, revision), key: k.key, keyId: k.keyId };
  }

  /**
   * Gives the tenant a new key; its other valid keys are revoked now (`graceMs` 0) or expire after `graceMs`.
   */
  async rotate(id: string, graceMs = 0): Promise<TenantWithKey> {
    const k = newApiKey();
    const tenant = await this.update(id, (t) => {
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
  revoke(id: string): Promise<Tenant> {
    return this.update(id, (t) => {
      t.revoked = true;
    });
  }

  /** Applies `change` to the current value and writes it, again on a concurrent write; TenantStoreError when absent. */
  async update(id: string, change: (t: Tenant) => void): Promise<Tenant> {
    for (let attempt = 0; ; attempt++) {
      const e = await this.entry(id);
      if (!e) throw new TenantStoreError(`no tenant ${id}`);
      change(e.tenant);
      try {
        return await this.write(e.tenant, e.revision);
      } catch (err) {
        if (attempt >= 4 || !isWrongRevision(err)) throw err;
      }
    }
  }

  /**
   * Calls `onTenant` with every verified tenant, then with every change; `onDelete` when a tenant's key is removed.
   * A refused value (unsigned, untrusted signer, altered, invalid) goes to `onRefused` with the tenant's id and the
   * reason once per value (not again on a replay of the same value), and the caller drops that tenant's keys; a
   * failure of the watch itself goes to `onRefused` without an id.
   */
  watch(
    onTenant: (t: Tenant) => void,
    onDelete: (id: string) => void,
    onRefused: (refusal: { id?: string; reason: string }) => void,
  ): Promise<{ close(): void }> {
    const refused = new Map<string, string>();
    return watchKv({
      nc: this.nc,
      kv: this.kv,
      bucket: TENANT_BUCKET,
      decode: (text, id) => {
        try {
          const t = readSignedTenant(text, id, this.trust.trusted);
          refused.delete(id);
          return t;
        } catch (err) {
          if (refused.get(id) !== text) onRefused({ id, reason: refusalReason(err) });
          refused.set(id, text);
          return undefined;
        }
      },
      onValue: (t) => t && onTenant(t),
      onDelete: (id) => {
        refused.delete(id);
        onDelete(id);
      },
      onError: (err) => onRefused({ reason: String(err) }),
    });
  }

  private async entry(id: string): Promise<{ tenant: Tenant; revision: number } | undefined> {
    const raw = await this.raw(id);
    return raw && { tenant: readSignedTenant(raw.text, id, this.trust.trusted), revision: raw.revision };
  }

  /**
   * The one place a tenant value is written: stamped (updated_at, schema version), signed with this store's
   * operator key (updated_by: its operator name) and stored if the key is still at `revision` (0: only if the
   * tenant does not exist yet).
   */
  private async write(tenant: Tenant, revision: number): Promise<Tenant> {
    if (!this.trust.signer) throw new Error("this tenant store has no signing key: it can only read");
    const stamped = create(TenantSchema, {
      ...tenant,
      updatedAt: timestampNow(),
      schemaVersion: TENANT_SCHEMA_VERSION,
    });
    const { text, tenant: t } = writeSignedTenant(stamped, this.trust.signer, this.trust.trusted);
    if (revision > 0) await this.kv.update(t.id, text, revision);
    else
      await this.kv.create(t.id, text).catch((err: unknown) => {
        throw isWrongRevision(err) ? new TenantStoreError(`tenant ${t.id} exists already`, { cause: err }) : err;
      });
    return t;
  }
}

/**
 * Why a tenant value was refused, for logs and meshctl: a signature problem as it is (it names keys and
 * operators, never a secret's hash); any other message with long tokens (a hash, a base64 field) cut out.
 */
export function refusalReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof SignatureError) return message;
  return message.replace(/[A-Za-z0-9+/=_-]{20,}/g, "…");
}
