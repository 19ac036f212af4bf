import { readFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { ed25519PrivateKey } from "./checkpoint.js";
import { ConfigError, type EnvReader } from "../service/index.js";

/** The durable audit trail's settings (<PREFIX>_AUDIT_*); absent when <PREFIX>_AUDIT_SPOOL_DIR is unset. */
export interface AuditConfig {
  /** This replica's own spool folder. */
  spoolDir: string;
  /** Ed25519 private key (PKCS#8 PEM in <PREFIX>_AUDIT_SIGNING_KEY_FILE) that signs checkpoints. */
  signingKey: KeyObject;
  fsyncMs: number;
  shipMs: number;
  checkpointMs: number;
  spoolMaxBytes: number;
  whenFull: "refuse" | "serve";
}

/**
 * <PREFIX>_AUDIT_SPOOL_DIR and the rest (ROUTER_AUDIT_* for routers, VALIDATOR_AUDIT_* for the edge), read once at
 * start; the signing key is required with a spool.
 */
export function readAuditConfig(env: EnvReader, prefix: "ROUTER" | "VALIDATOR" = "ROUTER"): AuditConfig | undefined {
  const v = (name: string) => `${prefix}_AUDIT_${name}`;
  const spoolDir = env.optional(v("SPOOL_DIR"));
  if (!spoolDir) return undefined;
  return {
    spoolDir,
    signingKey: signingKey(env, v("SIGNING_KEY_FILE")),
    fsyncMs: env.int(v("FSYNC_MS"), 50, 1, 60_000),
    shipMs: env.int(v("SHIP_MS"), 1000, 10, 60_000),
    checkpointMs: env.int(v("CHECKPOINT_MS"), 5000, 100, 3_600_000),
    spoolMaxBytes: env.int(v("SPOOL_MAX_BYTES"), 2 * 1024 ** 3, 1024, Number.MAX_SAFE_INTEGER),
    whenFull: env.oneOf(v("WHEN_FULL"), ["refuse", "serve"] as const, "refuse"),
  };
}

function signingKey(env: EnvReader, name: string): KeyObject {
  const file = env.string(name);
  try {
    return ed25519PrivateKey(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(name, `${file} does not hold an Ed25519 private key (PKCS#8 PEM): ${(err as Error).message}`);
  }
}
