import type { ApiKey, Tenant } from "../../../gen/scoremesh/tenant/v1/tenant_pb.js";

/** A key's entry: the key and the tenant it belongs to. */
export interface KeyEntry {
  tenant: Tenant;
  key: ApiKey;
}

/**
 * Every valid API key of the mesh by its public id, kept from the tenant bucket's watch (see
 * tenant-watch.ts): a tenant's keys are replaced whenever its value changes, so a revoked key or tenant is
 * gone as soon as the change arrives. Keys that expire (a rotated key's grace period) are checked by
 * `authenticate` against the time of the call. Pure.
 */
export class TenantDirectory {
  private readonly byKeyId = new Map<string, KeyEntry>();
  private readonly keyIdsOf = new Map<string, string[]>();

  /** A tenant written (created, changed, revoked). */
  apply(t: Tenant): void {
    this.remove(t.id);
    if (t.revoked) return;
    const ids: string[] = [];
    for (const key of t.keys) {
      if (key.revokedAt) continue;
      this.byKeyId.set(key.keyId, { tenant: t, key });
      ids.push(key.keyId);
    }
    this.keyIdsOf.set(t.id, ids);
  }

  /** A tenant deleted. */
  remove(tenantId: string): void {
    for (const id of this.keyIdsOf.get(tenantId) ?? []) this.byKeyId.delete(id);
    this.keyIdsOf.delete(tenantId);
  }

  find(keyId: string): KeyEntry | undefined {
    return this.byKeyId.get(keyId);
  }

  /** How many tenants have valid keys. */
  get size(): number {
    return this.keyIdsOf.size;
  }
}
