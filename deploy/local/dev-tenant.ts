import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "nats";
import {
  identityOptions,
  parseApiKey,
  secretMatches,
  TenantStore,
  type TenantSettings,
} from "../../services/lib/nats/index.js";
import { EnvReader, natsIdentity } from "../../services/lib/service/index.js";

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
 * identity (its seed in `controlSeedFile`), the one that may write tenants; creates the tenant bucket, which
 * validators may only read.
 */
export async function ensureDevTenant(
  natsUrl: string,
  stateDir: string,
  controlSeedFile: string,
): Promise<string | undefined> {
  const identity = natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: controlSeedFile }));
  const nc = await connect({ servers: natsUrl, name: "launcher", timeout: 5000, ...identityOptions(identity) });
  try {
    const store = await TenantStore.open(nc);
    const tenant = await store.get(DEV_TENANT);
    const kept = readDevKey(stateDir);
    const parsed = kept ? parseApiKey(kept) : undefined;
    if (tenant?.revoked) return undefined;
    const valid = tenant?.keys.find(
      (k) => k.keyId === parsed?.keyId && !k.revokedAt && !k.expiresAt && secretMatches(parsed.secret, k.secretSha256),
    );
    if (valid) return kept;
    const made = tenant ? await store.rotate(DEV_TENANT, "launcher") : await store.create(DEV_SETTINGS, "launcher");
    const file = join(stateDir, DEV_KEY_FILE);
    writeFileSync(file, made.key + "\n", { mode: 0o600 });
    chmodSync(file, 0o600);
    return made.key;
  } finally {
    await nc.close();
  }
}
