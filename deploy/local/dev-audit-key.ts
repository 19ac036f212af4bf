import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";

/** The development audit signing key of a mesh's state folder: private (0600, routers) and public (meshctl). */
export interface DevAuditKey {
  privateKeyFile: string;
  publicKeyFile: string;
}

/** Makes `<stateDir>/audit/signing-key.pem` (Ed25519, PKCS#8, 0600) and its public half once; kept across starts. */
export function ensureDevAuditKey(stateDir: string): DevAuditKey {
  const dir = join(stateDir, "audit");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyFile = join(dir, "signing-key.pem");
  const publicKeyFile = join(dir, "signing-key.pub.pem");
  if (!existsSync(privateKeyFile) || !existsSync(publicKeyFile)) {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    writeFileSync(privateKeyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    chmodSync(privateKeyFile, 0o600);
    writeFileSync(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }));
  }
  return { privateKeyFile, publicKeyFile };
}

/**
 * The audit variables of one instance: every router its own spool folder and the signing key. A variable the
 * caller set (`given`, e.g. ROUTER_AUDIT_SPOOL_DIR="" to run without the trail) wins.
 */
export function auditInstanceEnv(
  stateDir: string,
  key: DevAuditKey,
  instance: string,
  isRouter: boolean,
  given: Record<string, string>,
): Record<string, string> {
  if (!isRouter) return {};
  const env: Record<string, string> = {
    ROUTER_AUDIT_SPOOL_DIR: join(stateDir, "audit", "spool", instance),
    ROUTER_AUDIT_SIGNING_KEY_FILE: key.privateKeyFile,
  };
  for (const k of Object.keys(given)) if (k in env) env[k] = given[k]!;
  return env;
}
