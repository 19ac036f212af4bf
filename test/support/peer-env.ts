import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nkeys } from "../../services/lib/nats/nkeys.js";

/** A NATS identity and a trusted-operators file in a temporary folder, for config tests (read at start). */
const keyDir = mkdtempSync(join(tmpdir(), "scoremesh-peer-env-"));
process.once("exit", () => rmSync(keyDir, { recursive: true, force: true }));
const seedFile = join(keyDir, "identity.nk");
writeFileSync(seedFile, new TextDecoder().decode(nkeys.createUser().getSeed()), { mode: 0o600 });
const operatorsFile = join(keyDir, "operators.json");
writeFileSync(
  operatorsFile,
  JSON.stringify({ operators: [{ name: "ana", publicKey: nkeys.createOperator().getPublicKey() }] }),
);

/**
 * The peer addresses every service requires (no service defaults one to localhost), the NATS identity and trusted
 * operators those that use NATS require, and TLS_MODE=off (mutual TLS, the default, needs certificate files): what
 * a unit test of a service's config sets so that the variable under test is the only one that matters.
 */
export const PEER_ENV: Readonly<Record<string, string>> = {
  NATS_URL: "nats://127.0.0.1:4222",
  NATS_NKEY_SEED_FILE: seedFile,
  SCOREMESH_TRUSTED_OPERATORS_FILE: operatorsFile,
  VALIDATOR_FEATURE_ADDR: "127.0.0.1:50061",
  FEATURE_ROUTER_ADDR: "127.0.0.1:50071",
  ROUTER_WORKER_ADDRS: "127.0.0.1:50081",
  ROUTER_MONITOR_ADDR: "127.0.0.1:50091",
  TLS_MODE: "off",
};
