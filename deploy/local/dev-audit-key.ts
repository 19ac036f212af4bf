import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";

/** The development audit signing key of a mesh's state folder: private (0600, routers) and public (meshctl). */
export interface DevAuditKey {
  privateKeyFile: string;
  publicKeyFile: string;
  /** The edge's own key pair (validators sign their checkpoints with it; it cannot vouch for a router's chain). */
  edge?: DevAuditKey;
}

/** Makes `<stateDir>/audit/<name>.pem` (Ed25519, PKCS#8, 0600) and its public half once; kept across starts. */
function ensureKeyPair(dir: string, name: string): DevAuditKey {
  const privateKeyFile = join(dir, `${name}.pem`);
  const publicKeyFile = join(dir, `${name}.pub.pem`);
  if (!existsSync(privateKeyFile) || !existsSync(publicKeyFile)) {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    writeFileSync(privateKeyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    chmodSync(privateKeyFile, 0o600);
    writeFileSync(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }));
  }
  return { privateKeyFile, publicKeyFile };
}

/** The routers' key (`<stateDir>/audit/signing-key.pem`) and the edge's (`edge-signing-key.pem`), made once. */
export function ensureDevAuditKey(stateDir: string): DevAuditKey & { edge: DevAuditKey } {
  const dir = join(stateDir, "audit");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { ...ensureKeyPair(dir, "signing-key"), edge: ensureKeyPair(dir, "edge-signing-key") };
}

/**
 * The audit variables of one instance: every router and every validator (the edge's rules decisions) its own spool
 * folder and its role's signing key. A variable the caller set (`given`, e.g. ROUTER_AUDIT_SPOOL_DIR="" to run
 * without the trail) wins.
 */
export function auditInstanceEnv(
  stateDir: string,
  key: DevAuditKey,
  instance: string,
  service: string,
  given: Record<string, string>,
): Record<string, string> {
  const role = service === "router" ? "ROUTER" : service === "validator" ? "VALIDATOR" : "";
  if (!role) return {};
  const signing = role === "VALIDATOR" ? (key.edge ?? key) : key;
  const env: Record<string, string> = {
    [`${role}_AUDIT_SPOOL_DIR`]: join(stateDir, "audit", "spool", instance),
    [`${role}_AUDIT_SIGNING_KEY_FILE`]: signing.privateKeyFile,
  };
  for (const k of Object.keys(given)) if (k in env) env[k] = given[k]!;
  return env;
}
