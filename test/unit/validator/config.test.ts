import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, EnvReader } from "../../../services/lib/service/index.js";
import { readConfig } from "../../../services/validator/config.js";
import { PEER_ENV } from "../../support/peer-env.js";
import { tempDir } from "../lib/audit/audit-fixture.js";

const read = (env: Record<string, string>) => readConfig(new EnvReader({ ...PEER_ENV, ...env }));

test("the edge's rules are on by default, VALIDATOR_EDGE_RULES=off turns them off; no spool: no edge audit", () => {
  assert.deepEqual([read({}).edgeRules, read({}).audit], [true, undefined]);
  assert.equal(read({ VALIDATOR_EDGE_RULES: "off" }).edgeRules, false);
  assert.throws(() => read({ VALIDATOR_EDGE_RULES: "maybe" }), /VALIDATOR_EDGE_RULES/);
});

test("VALIDATOR_AUDIT_*: a spool needs the edge's signing key, named when missing or not Ed25519", (t) => {
  const dir = tempDir(t);
  const spool = { VALIDATOR_AUDIT_SPOOL_DIR: join(dir, "spool") };
  const missing = (err: unknown) => err instanceof ConfigError && err.variable === "VALIDATOR_AUDIT_SIGNING_KEY_FILE";
  assert.throws(() => read(spool), missing);
  const rsa = join(dir, "rsa.pem");
  const rsaKey = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
  writeFileSync(rsa, rsaKey.export({ type: "pkcs8", format: "pem" }));
  assert.throws(() => read({ ...spool, VALIDATOR_AUDIT_SIGNING_KEY_FILE: rsa }), missing);
  const ed = join(dir, "edge.pem");
  writeFileSync(ed, generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }));
  const c = read({ ...spool, VALIDATOR_AUDIT_SIGNING_KEY_FILE: ed, VALIDATOR_AUDIT_SHIP_MS: "250" });
  assert.deepEqual(
    [c.audit?.spoolDir, c.audit?.fsyncMs, c.audit?.shipMs, c.audit?.whenFull],
    [spool.VALIDATOR_AUDIT_SPOOL_DIR, 50, 250, "refuse"],
  );
  assert.throws(
    () => read({ ...spool, VALIDATOR_AUDIT_SIGNING_KEY_FILE: ed, VALIDATOR_AUDIT_WHEN_FULL: "drop" }),
    /VALIDATOR_AUDIT_WHEN_FULL/,
  );
  // With API keys off the edge still needs NATS to ship its records.
  const noAuth = read({ ...spool, VALIDATOR_AUDIT_SIGNING_KEY_FILE: ed, VALIDATOR_AUTH: "off" });
  assert.ok(noAuth.natsIdentity, "the NATS identity is read for the audit trail");
  assert.equal(read({ VALIDATOR_AUTH: "off" }).natsIdentity, undefined);
});
