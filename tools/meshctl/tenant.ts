import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Tenant } from "../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { TenantStore, TenantStoreError, type TenantSettings } from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { CliError, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

const by = () => `meshctl@${process.env["USER"] ?? "unknown"}`;

/** Runs `fn` with the tenant store; a missing or existing tenant is a clear error (exit 1). */
export function withTenants<T>(target: MeshTarget, fn: (s: TenantStore) => Promise<T>): Promise<T> {
  return withNats(target, async (nc) => {
    try {
      return await fn(await TenantStore.open(nc));
    } catch (err) {
      throw err instanceof TenantStoreError ? new CliError(err.message) : err;
    }
  });
}

const iso = (t: Timestamp | undefined) => (t ? new Date(Number(t.seconds) * 1000 + t.nanos / 1e6).toISOString() : null);

/** A tenant as meshctl prints it with --json: its settings and keys (ids and dates; never the hashes). */
export function tenantView(t: Tenant) {
  return {
    id: t.id,
    allowedModels: t.allowedModels,
    ratePerSecond: t.ratePerSecond,
    burst: t.burst,
    dailyQuota: Number(t.dailyQuota),
    maxBatch: t.maxBatch,
    revoked: t.revoked,
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
    updatedBy: t.updatedBy,
    keys: t.keys.map((k) => ({
      keyId: k.keyId,
      createdAt: iso(k.createdAt),
      revokedAt: iso(k.revokedAt),
      expiresAt: iso(k.expiresAt),
    })),
  };
}

function tenantLine(t: Tenant): string {
  const v = tenantView(t);
  const valid = t.keys.filter((k) => !k.revokedAt).length;
  return (
    `${t.id}${t.revoked ? " (revoked)" : ""}  models ${t.allowedModels.join(",")}  rate ${t.ratePerSecond}/s burst ${t.burst}  ` +
    `daily quota ${v.dailyQuota || "none"}  max batch ${t.maxBatch || "validator's"}  keys ${valid} valid of ${t.keys.length}`
  );
}

/** `meshctl tenant create NAME [--models a,b] [--rate R] [--burst B] [--daily-quota Q] [--max-batch N]` */
export async function tenantCreate(target: MeshTarget, settings: TenantSettings, out: Output): Promise<void> {
  const made = await withTenants(target, (s) => s.create(settings, by()));
  printKey(made.tenant, made.key, out, "created");
}

/** `meshctl tenant rotate NAME [--grace SECONDS]`: a new key; the old ones revoked now, or expiring after the grace. */
export async function tenantRotate(target: MeshTarget, id: string, graceS: number, out: Output): Promise<void> {
  const made = await withTenants(target, (s) => s.rotate(id, by(), graceS * 1000));
  printKey(
    made.tenant,
    made.key,
    out,
    graceS > 0 ? `given a new key (old keys valid ${graceS} s more)` : "given a new key (old keys revoked)",
  );
}

function printKey(t: Tenant, key: string, out: Output, what: string): void {
  if (out.json) return printJson({ tenant: tenantView(t), key });
  console.log(`tenant ${t.id} ${what}: ${tenantLine(t)}`);
  console.log(`API key (shown once; the mesh keeps only its hash):\n${key}`);
  console.log(
    `Send it as "authorization: Bearer <key>" (gRPC metadata or HTTP header), or SCOREMESH_API_KEY for meshctl score.`,
  );
}

/** `meshctl tenant list` */
export async function tenantList(target: MeshTarget, out: Output): Promise<void> {
  const all = await withTenants(target, (s) => s.list());
  if (out.json) printJson(all.map(tenantView));
  else if (all.length === 0) console.log("no tenants (meshctl tenant create NAME)");
  else for (const t of all) console.log(tenantLine(t));
}

/** `meshctl tenant show NAME` */
export async function tenantShow(target: MeshTarget, id: string, out: Output): Promise<void> {
  const t = await withTenants(target, (s) => s.get(id));
  if (!t) throw new CliError(`no tenant ${id}`);
  if (out.json) return printJson(tenantView(t));
  console.log(tenantLine(t));
  for (const k of tenantView(t).keys)
    console.log(
      `  key ${k.keyId}  made ${k.createdAt}${k.revokedAt ? `  revoked ${k.revokedAt}` : ""}${k.expiresAt ? `  expires ${k.expiresAt}` : ""}`,
    );
}

/** `meshctl tenant revoke NAME`: every key of the tenant is refused from now on (every validator, within ~1 s). */
export async function tenantRevoke(target: MeshTarget, id: string, out: Output): Promise<void> {
  const t = await withTenants(target, (s) => s.revoke(id, by()));
  if (out.json) printJson(tenantView(t));
  else console.log(`tenant ${id} revoked: every validator refuses its keys within about a second.`);
}
