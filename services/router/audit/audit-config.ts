import { readFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { ed25519PrivateKey } from "../../lib/audit/index.js";
import { ConfigError, type EnvReader } from "../../lib/service/index.js";

/** The durable audit trail's settings (ROUTER_AUDIT_*); absent when ROUTER_AUDIT_SPOOL_DIR is unset. */
export interface AuditConfig {
  /** This replica's own spool folder. */
  spoolDir: string;
  /** Ed25519 private key (PKCS#8 PEM in ROUTER_AUDIT_SIGNING_KEY_FILE) that signs checkpoints. */
  signingKey: KeyObject;
  fsyncMs: number;
  shipMs: number;
  checkpointMs: number;
  spoolMaxBytes: number;
  whenFull: "refuse" | "serve";
}

/** ROUTER_AUDIT_SPOOL_DIR and the rest, read once at start; the signing key is required with a spool. */
export function readAuditConfig(env: EnvReader): AuditConfig | undefined {
  const spoolDir = env.optional("ROUTER_AUDIT_SPOOL_DIR");
  if (!spoolDir) return undefined;
  return {
    spoolDir,
    signingKey: signingKey(env),
    fsyncMs: env.int("ROUTER_AUDIT_FSYNC_MS", 50, 1, 60_000),
    shipMs: env.int("ROUTER_AUDIT_SHIP_MS", 1000, 10, 60_000),
    checkpointMs: env.int("ROUTER_AUDIT_CHECKPOINT_MS", 5000, 100, 3_600_000),
    spoolMaxBytes: env.int("ROUTER_AUDIT_SPOOL_MAX_BYTES", 2 * 1024 ** 3, 1024, Number.MAX_SAFE_INTEGER),
    whenFull: env.oneOf("ROUTER_AUDIT_WHEN_FULL", ["refuse", "serve"] as const, "refuse"),
  };
}

function signingKey(env: EnvReader): KeyObject {
  const file = env.string("ROUTER_AUDIT_SIGNING_KEY_FILE");
  try {
    return ed25519PrivateKey(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(
      "ROUTER_AUDIT_SIGNING_KEY_FILE",
      `${file} does not hold an Ed25519 private key (PKCS#8 PEM): ${(err as Error).message}`,
    );
  }
}
