import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { nkeys, type KeyPair } from "../../services/lib/nats/nkeys.js";
import { inboxPrefixOf } from "../../services/lib/nats/index.js";
import { nkeyPublicKey } from "../../services/lib/nats/ed25519.js";
import { NATS_ROLES, rolePermissions, type NatsRole } from "./nats-permissions.js";

/** The keys of one mesh's state folder: NATS identities per role, operator signing keys, the trusted operators. */
export interface MeshKeys {
  /** The seed file of each role's NATS identity (NATS_NKEY_SEED_FILE). */
  seedFile: Record<NatsRole, string>;
  /** Each role's public key (the user nats-server knows). */
  publicKey: Record<NatsRole, string>;
  /** nats-server's configuration: the users (public keys only) and their permissions. */
  natsConfigFile: string;
  /** The trusted-operators file (SCOREMESH_TRUSTED_OPERATORS_FILE). */
  trustedOperatorsFile: string;
  /** The launcher's own operator key (it seeds and re-signs policies at start). */
  launcherOperatorKeyFile: string;
  /** The monitor's rollout controller's operator key (MONITOR_ROLLOUT_OPERATOR_KEY_FILE). */
  rolloutOperatorKeyFile: string;
  /** The local operator's key, the one meshctl signs with (SCOREMESH_OPERATOR_KEY_FILE). */
  operatorKeyFile: string;
  operatorName: string;
}

/** The name the launcher's own signatures carry (`updated_by` of a seeded policy). */
export const LAUNCHER_OPERATOR = "launcher";

/** The name the rollout controller's signatures carry (`updated_by` of a policy it wrote). */
export const ROLLOUT_OPERATOR = "rollout-controller";

/**
 * Creates what is missing of a mesh's keys under `stateDir` and returns where they are: an nkey user seed per
 * role in `nats/identities/<role>.nk`, an operator key for the launcher and one for the local operator (named
 * after the OS user) in `operators/<name>.nk` (all 0600, kept across restarts), `operators.json` with their
 * public keys (operators added to it by hand are kept), and `nats/nats-server.conf` (0600). Nothing secret goes
 * into nats-server's configuration: it holds public keys only.
 */
export function ensureMeshKeys(stateDir: string): MeshKeys {
  const idDir = join(stateDir, "nats", "identities");
  const opDir = join(stateDir, "operators");
  for (const d of [idDir, opDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const seedFile = {} as Record<NatsRole, string>;
  const publicKey = {} as Record<NatsRole, string>;
  for (const role of NATS_ROLES) {
    seedFile[role] = join(idDir, `${role}.nk`);
    publicKey[role] = ensureSeed(seedFile[role], () => nkeys.createUser());
  }
  const operatorName = localOperatorName();
  const operators = [LAUNCHER_OPERATOR, ROLLOUT_OPERATOR, operatorName].map((name) => ({
    name,
    publicKey: ensureSeed(join(opDir, `${name}.nk`), () => nkeys.createOperator()),
  }));
  const trustedOperatorsFile = join(stateDir, "operators.json");
  writeTrustedOperators(trustedOperatorsFile, operators);
  const natsConfigFile = join(stateDir, "nats", "nats-server.conf");
  writeSecret(natsConfigFile, natsServerConfig(publicKey));
  return {
    seedFile,
    publicKey,
    natsConfigFile,
    trustedOperatorsFile,
    launcherOperatorKeyFile: join(opDir, `${LAUNCHER_OPERATOR}.nk`),
    rolloutOperatorKeyFile: join(opDir, `${ROLLOUT_OPERATOR}.nk`),
    operatorKeyFile: join(opDir, `${operatorName}.nk`),
    operatorName,
  };
}

/** The OS user as an operator name (A-Z a-z 0-9 . _ -), never the launcher's own name. */
function localOperatorName(): string {
  let name = "operator";
  try {
    name = userInfo().username.replace(/[^A-Za-z0-9._-]/g, "") || name;
  } catch {
    // No user name (some containers): "operator".
  }
  return name === LAUNCHER_OPERATOR || name === ROLLOUT_OPERATOR ? `${name}-user` : name.slice(0, 64);
}

/** The public key of the seed in `file`, creating the file (0600) with a new key from `make` when missing. */
function ensureSeed(file: string, make: () => KeyPair): string {
  if (existsSync(file)) return nkeyPublicKey(new TextEncoder().encode(readFileSync(file, "utf8").trim()));
  const kp = make();
  writeSecret(file, new TextDecoder().decode(kp.getSeed()) + "\n");
  return nkeyPublicKey(kp.getSeed());
}

function writeSecret(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** operators.json with `ours` in it (by name: a key of ours that changed replaces the old one); others kept. */
function writeTrustedOperators(file: string, ours: { name: string; publicKey: string }[]): void {
  let existing: { name: string; publicKey: string }[] = [];
  try {
    existing = (JSON.parse(readFileSync(file, "utf8")) as { operators: typeof existing }).operators ?? [];
  } catch {
    existing = [];
  }
  const names = new Set(ours.map((o) => o.name));
  const operators = [...ours, ...existing.filter((o) => !names.has(o.name))];
  writeFileSync(file, JSON.stringify({ operators }, null, 2) + "\n");
}

/** nats-server's authorization block: one nkey user per role with its permissions; no anonymous user. */
export function natsServerConfig(publicKey: Record<NatsRole, string>): string {
  const users = NATS_ROLES.map((role) => ({
    nkey: publicKey[role],
    permissions: rolePermissions(role, inboxPrefixOf(publicKey[role])),
  }));
  return (
    "# Written by the launcher (deploy/local/nats-identities.ts) at every start: one user per role.\n" +
    JSON.stringify({ authorization: { users } }, null, 2) +
    "\n"
  );
}

/** The NATS identity a service's processes get (every replica of a role the same); the feature service has none. */
export function serviceNatsEnv(keys: MeshKeys, service: string): Record<string, string> {
  const role = (NATS_ROLES as readonly string[]).includes(service) ? (service as NatsRole) : undefined;
  if (!role) return {};
  const rollout: Record<string, string> =
    role === "monitor" ? { MONITOR_ROLLOUT_OPERATOR_KEY_FILE: keys.rolloutOperatorKeyFile } : {};
  return { NATS_NKEY_SEED_FILE: keys.seedFile[role], ...rollout };
}

/** What meshctl needs on top of a mesh's environment: the control identity and the local operator's signing key. */
export function controlEnv(keys: MeshKeys): Record<string, string> {
  return { NATS_NKEY_SEED_FILE: keys.seedFile.control, SCOREMESH_OPERATOR_KEY_FILE: keys.operatorKeyFile };
}
