import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "nats";
import type { Tenant } from "../../gen/scoremesh/tenant/v1/tenant_pb.js";
import {
  decodeTenant,
  identityOptions,
  isSignedValue,
  operatorSigner,
  parseApiKey,
  parseTrustedOperators,
  secretMatches,
  TenantStore,
  type TenantSettings,
  type TenantWithKey,
} from "../../services/lib/nats/index.js";
import { EnvReader, natsIdentity } from "../../services/lib/service/index.js";
import type { MeshKeys } from "./nats-identities.js";

/** The development tenant `npm start` makes. */
export const DEV_TENANT = "dev";
/** Where its key goes in the state folder (mode 0600): meshctl reads it from there. */
export const DEV_KEY_FILE = "dev-api-key";

/** Every model, and limits no developer's laptop reaches (the bench runs as this tenant). */
const DEV_SETTINGS: TenantSettings = {
  id: DEV_TENANT,
  allowedModels: ["*"],
  ratePerSecond: 1_000_000,
  burst: 1_000_000,
  dailyQuota: 0n,
  maxBatch: 0,
};

/** The key kept in `stateDir`, if there is one. */
export function readDevKey(stateDir: string): string | undefined {
  try {
    return readFileSync(join(stateDir, DEV_KEY_FILE), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The development tenant and a key of it in `<stateDir>/dev-api-key`: the kept key while it is still valid,
 * else a new one (the tenant created, or given a new key and its old ones revoked: a lost key file means a
 * lost key). Undefined when someone revoked the tenant: `npm start` does not undo that. Connects as the control
 * identity, the one that may write tenants (it creates the tenant bucket, which validators may only read), and
 * signs with the launcher's operator key. A dev tenant value validators refuse (unsigned, from an older build;
 * forged) is replaced by a new signed one with a new key; the refused value stays in the bucket's history.
 */
export async function ensureDevTenant(natsUrl: string, stateDir: string, keys: MeshKeys): Promise<string | undefined> {
  const identity = natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: keys.seedFile.control }));
  const trusted = parseTrustedOperators(readFileSync(keys.trustedOperatorsFile, "utf8"));
  const signer = operatorSigner(readFileSync(keys.launcherOperatorKeyFile, "utf8"));
  const nc = await connect({ servers: natsUrl, name: "launcher", timeout: 5000, ...identityOptions(identity) });
  try {
    const store = await TenantStore.open(nc, { trusted, signer });
    const current = await devTenant(store);
    if (current.revoked) return undefined;
    if (current.replaced) return writeKey(stateDir, current.replaced);
    const kept = readDevKey(stateDir);
    const parsed = kept ? parseApiKey(kept) : undefined;
    const valid = current.tenant?.keys.find(
      (k) => k.keyId === parsed?.keyId && !k.revokedAt && !k.expiresAt && secretMatches(parsed.secret, k.secretSha256),
    );
    if (valid) return kept;
    return writeKey(stateDir, current.tenant ? await store.rotate(DEV_TENANT) : await store.create(DEV_SETTINGS));
  } finally {
    await nc.close();
  }
}

/**
 * The dev tenant as validators see it (none yet: `{}`), or, when they refuse its value, a new signed one written
 * over it (`replaced`). Revoked stays revoked, also in an unsigned value from an older build.
 */
async function devTenant(
  store: TenantStore,
): Promise<{ tenant?: Tenant; replaced?: TenantWithKey; revoked?: boolean }> {
  const raw = await store.raw(DEV_TENANT);
  if (!raw) return {};
  let tenant: Tenant | undefined;
  try {
    tenant = await store.get(DEV_TENANT);
  } catch {
    if (!isSignedValue(raw.text) && legacyRevoked(raw.text)) return { revoked: true };
    return { replaced: await store.replace(DEV_SETTINGS, raw.revision) };
  }
  return tenant ? { tenant, revoked: tenant.revoked } : {};
}

function legacyRevoked(text: string): boolean {
  try {
    return decodeTenant(text).revoked;
  } catch {
    return false;
  }
}

/** Keeps the new key in `<stateDir>/dev-api-key` (0600) and returns it. */
function writeKey(stateDir: string, made: TenantWithKey): string {
  const file = join(stateDir, DEV_KEY_FILE);
  writeFileSync(file, made.key + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return made.key;
}
