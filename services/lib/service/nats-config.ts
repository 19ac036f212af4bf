import { readFileSync } from "node:fs";
import { nkeyPublicKey } from "../nats/ed25519.js";
import { setBucketReplicas } from "../nats/bucket-replicas.js";
import { parseTrustedOperators, TrustedOperatorsError, type TrustedOperators } from "../nats/trusted-operators.js";
import { ConfigError, type EnvReader } from "./config.js";

/** The variable that names the NATS servers, read by every service that uses NATS and by meshctl. */
export const NATS_URL = "NATS_URL";

/**
 * The NATS servers from NATS_URL: a comma-separated list of nats://host:port, required (no localhost default, so
 * a deployment that forgets it stops at start naming the variable); and NATS_REPLICAS (1..5, default 1), the
 * replicas of the KV buckets this process creates (see bucket-replicas.ts).
 *
 * @example
 *   natsServers(new EnvReader({ NATS_URL: "nats://10.0.0.5:4222,nats://10.0.0.6:4222" }));
 */
export function natsServers(env: EnvReader): string[] {
  // Read with the servers: every process that uses NATS has its bucket replicas checked at start-up too.
  setBucketReplicas(env.int("NATS_REPLICAS", 1, 1, 5));
  env.string(NATS_URL); // unset: "is required but not set"
  const list = env.list(NATS_URL);
  for (const url of list) {
    const m = /^nats:\/\/([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(url);
    if (!m || Number(m[2]) > 65535)
      throw new ConfigError(NATS_URL, `must be nats://host:port[,...], got ${JSON.stringify(url)}`);
  }
  return list;
}

export type { TrustedOperators };

/** The variable that names the file with this process's NATS identity: an nkey user seed ("SU..."), mode 0600. */
export const NATS_NKEY_SEED_FILE = "NATS_NKEY_SEED_FILE";

/** The variable that names the trusted-operators file (who may sign serving policies and tenants). */
export const TRUSTED_OPERATORS_FILE = "SCOREMESH_TRUSTED_OPERATORS_FILE";

/** A process's NATS identity: the seed it signs the server's nonce with, and its public key (the server's user). */
export interface NatsIdentity {
  seed: Uint8Array;
  publicKey: string;
}

/**
 * The NATS identity in the file NATS_NKEY_SEED_FILE names (required: nats-server refuses anonymous clients), read
 * once at start. Every replica of one role shares the role's identity (docs/security-nats.md).
 *
 * @example
 *   const id = natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: ".scoremesh/nats/identities/router.nk" }));
 */
export function natsIdentity(env: EnvReader): NatsIdentity {
  const file = env.string(NATS_NKEY_SEED_FILE);
  const text = readConfigFile(NATS_NKEY_SEED_FILE, file);
  const seed = new TextEncoder().encode(text.trim());
  try {
    const publicKey = nkeyPublicKey(seed);
    if (!publicKey.startsWith("U")) throw new Error("not a user seed");
    return { seed, publicKey };
  } catch {
    throw new ConfigError(NATS_NKEY_SEED_FILE, `${file} does not hold an nkey user seed (SU...)`);
  }
}

/** The trusted operators from the file SCOREMESH_TRUSTED_OPERATORS_FILE names (required), read once at start. */
export function trustedOperators(env: EnvReader): TrustedOperators {
  const file = env.string(TRUSTED_OPERATORS_FILE);
  try {
    return parseTrustedOperators(readConfigFile(TRUSTED_OPERATORS_FILE, file));
  } catch (err) {
    if (err instanceof TrustedOperatorsError) throw new ConfigError(TRUSTED_OPERATORS_FILE, `${file}: ${err.message}`);
    throw err;
  }
}

function readConfigFile(variable: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(variable, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** What a service that follows serving policies needs of NATS: where it is, who it is, whose signatures it trusts. */
export interface PolicyReaderNats {
  natsServers: string[];
  /** Its NATS identity (NATS_NKEY_SEED_FILE), the same for every replica of its role. */
  natsIdentity: NatsIdentity;
  /** Whose signed serving policies it follows (SCOREMESH_TRUSTED_OPERATORS_FILE). */
  trustedOperators: TrustedOperators;
}

/** NATS_URL, NATS_NKEY_SEED_FILE and SCOREMESH_TRUSTED_OPERATORS_FILE, read once at start (routers, workers). */
export function policyReaderNats(env: EnvReader): PolicyReaderNats {
  return { natsServers: natsServers(env), natsIdentity: natsIdentity(env), trustedOperators: trustedOperators(env) };
}
