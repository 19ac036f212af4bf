import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Tenant } from "../../gen/scoremesh/tenant/v1/tenant_pb.js";
import {
  KvValueError,
  refusalReason,
  SignatureError,
  TenantStore,
  TenantStoreError,
  type TenantSettings,
} from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { CliError, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/**
 * Runs `fn` with the tenant store, connected as the control identity and checking signatures against the trusted
 * operators; `sign` adds the operator's signing key (SCOREMESH_OPERATOR_KEY_FILE), for commands that write. A
 * missing or existing tenant, or a value validators refuse, is a clear error (exit 1).
 */
export function withTenants<T>(
  target: MeshTarget,
  fn: (s: TenantStore) => Promise<T>,
  opts: { sign?: boolean } = {},
): Promise<T> {
  const trust = { trusted: target.trustedOperators(), ...(opts.sign ? { signer: target.operatorSigner() } : {}) };
  return withNats(target, async (nc) => {
    try {
      return await fn(await TenantStore.open(nc, trust));
    } catch (err) {
      if (err instanceof TenantStoreError) throw new CliError(err.message);
      if (err instanceof SignatureError || err instanceof KvValueError)
        throw new CliError(`the tenant's value is refused by validators: ${refusalReason(err)}`);
      throw err;
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

/**
 * `meshctl tenant create NAME [--models a,b] [--rate R] [--burst B] [--daily-quota Q] [--max-batch N]
 * [--replace-refused]`; with --replace-refused, also over a value validators refuse (never over a valid tenant).
 */
export async function tenantCreate(
  target: MeshTarget,
  settings: TenantSettings,
  out: Output,
  overRefused = false,
): Promise<void> {
  const made = await withTenants(target, (s) => (overRefused ? s.createOverRefused(settings) : s.create(settings)), {
    sign: true,
  });
  printKey(made.tenant, made.key, out, "created");
}

/** `meshctl tenant rotate NAME [--grace SECONDS]`: a new key; the old ones revoked now, or expiring after the grace. */
export async function tenantRotate(target: MeshTarget, id: string, graceS: number, out: Output): Promise<void> {
  const made = await withTenants(target, (s) => s.rotate(id, graceS * 1000), { sign: true });
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

/** `meshctl tenant list`: the tenants validators accept; values they refuse are named on stderr. */
export async function tenantList(target: MeshTarget, out: Output): Promise<void> {
  const { tenants, refused } = await withTenants(target, (s) => s.list());
  for (const r of refused) console.error(`tenant ${r.id}: refused by validators (${r.reason})`);
  if (out.json) printJson(tenants.map(tenantView));
  else if (tenants.length === 0) console.log("no tenants (meshctl tenant create NAME)");
  else for (const t of tenants) console.log(tenantLine(t));
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
  const t = await withTenants(target, (s) => s.revoke(id), { sign: true });
  if (out.json) printJson(tenantView(t));
  else console.log(`tenant ${id} revoked: every validator refuses its keys within about a second.`);
}
