import { clone } from "@bufbuild/protobuf";
import {
  TenantSchema,
  TenantUsageSchema,
  ValidatorReplicaSchema,
  type Tenant,
  type TenantUsage,
  type ValidatorReplica,
} from "../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { KvValueError, kvCodec } from "./kv-codec.js";
import { signValue, verifyValue, type Signer } from "./signed-value.js";
import type { TrustedOperators } from "./trusted-operators.js";

/** The JetStream KV bucket that holds one Tenant per tenant, keyed by the tenant's id. */
export const TENANT_BUCKET = "scoremesh_tenants";

/** The schema version of the tenant, usage and replica values this build writes. */
export const TENANT_SCHEMA_VERSION = 1;

/** What a tenant id may be: it is a KV key, a usage key's first part and a metric label. */
export const TENANT_ID_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** What is wrong with a tenant's settings (the first problem found), or undefined. */
export function tenantProblem(t: Tenant): string | undefined {
  if (!TENANT_ID_RE.test(t.id)) return `id ${JSON.stringify(t.id)} must match ${TENANT_ID_RE.source}`;
  if (t.allowedModels.length === 0) return 'allowedModels is empty (name the models, or "*" for every model)';
  if (!Number.isFinite(t.ratePerSecond) || t.ratePerSecond <= 0)
    return `ratePerSecond must be a number above 0, got ${t.ratePerSecond}`;
  if (t.burst < 1) return `burst must be at least 1, got ${t.burst}`;
  return undefined;
}

const noLegacy = (what: string) => () => {
  throw new Error(`${what} values have had a schema version from the start; this one has none`);
};

const tenantCodec = kvCodec({
  what: "tenant",
  schema: TenantSchema,
  version: TENANT_SCHEMA_VERSION,
  upgrade: noLegacy("tenant"),
  problem: tenantProblem,
});

const usageCodec = kvCodec({
  what: "tenant usage",
  schema: TenantUsageSchema,
  version: TENANT_SCHEMA_VERSION,
  upgrade: noLegacy("tenant usage"),
  problem: (u) => (!u.tenantId ? "tenantId is empty" : !u.replica ? "replica is empty" : undefined),
});

const replicaCodec = kvCodec({
  what: "validator replica",
  schema: ValidatorReplicaSchema,
  version: TENANT_SCHEMA_VERSION,
  upgrade: noLegacy("validator replica"),
  problem: (r) => (!r.replica ? "replica is empty" : undefined),
});

export const encodeTenant = (t: Tenant): string => tenantCodec.encode(t);
/** A tenant from the tenant bucket; throws `KvValueError` when unreadable or invalid. */
export const decodeTenant = (json: string): Tenant => tenantCodec.decode(json);
export const encodeTenantUsage = (u: TenantUsage): string => usageCodec.encode(u);
export const decodeTenantUsage = (json: string): TenantUsage => usageCodec.decode(json);
export const encodeValidatorReplica = (r: ValidatorReplica): string => replicaCodec.encode(r);
export const decodeValidatorReplica = (json: string): ValidatorReplica => replicaCodec.decode(json);

/**
 * A tenant value as validators take it: a scoremesh.signing.v1.Signed envelope verified against the trusted
 * operators (signed-value.ts), its payload decoded, its id matching its key, and `updatedBy` set to the verified
 * signer's operator name (whatever the payload says). Throws `SignatureError` when unsigned, signed by a key not
 * trusted, or altered; `KvValueError` when the signed payload is not a valid tenant.
 *
 * @example
 *   const t = readSignedTenant(entry.string(), entry.key, trusted);
 */
export function readSignedTenant(text: string, key: string, trusted: TrustedOperators): Tenant {
  const v = verifyValue(text, { bucket: TENANT_BUCKET, key }, trusted);
  const t = decodeTenant(v.payload);
  if (t.id !== key) throw new KvValueError(`tenant: under key ${key} but for tenant ${t.id}`);
  t.updatedBy = v.operator;
  return t;
}

/**
 * `t` as the tenant bucket keeps it, signed by `signer`, and the tenant as readers will see it (`updatedBy` the
 * signer's operator name, or its key when the trusted-operators file does not list it).
 */
export function writeSignedTenant(
  t: Tenant,
  signer: Signer,
  trusted: TrustedOperators,
): { text: string; tenant: Tenant } {
  const tenant = clone(TenantSchema, t);
  tenant.updatedBy = trusted.get(signer.publicKey) ?? signer.publicKey;
  tenant.schemaVersion = TENANT_SCHEMA_VERSION;
  return { text: signValue(encodeTenant(tenant), { bucket: TENANT_BUCKET, key: t.id }, signer), tenant };
}
