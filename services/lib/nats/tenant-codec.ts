import {
  TenantSchema,
  TenantUsageSchema,
  ValidatorReplicaSchema,
  type Tenant,
  type TenantUsage,
  type ValidatorReplica,
} from "../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { kvCodec } from "./kv-codec.js";

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
