import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureMeshKeys } from "../../../../deploy/local/nats-identities.js";
import { NATS_ROLES, rolePermissions } from "../../../../deploy/local/nats-permissions.js";

const allows = (role: (typeof NATS_ROLES)[number], subject: string) =>
  rolePermissions(role, "_INBOX_X").publish.allow.includes(subject);

test("only control (and the monitor's rollout controller, for policies) may change serving policy and tenants, or create their buckets", () => {
  for (const role of NATS_ROLES) {
    const control = role === "control";
    assert.equal(allows(role, "$KV.scoremesh_policy.>"), control || role === "monitor", role);
    assert.equal(allows(role, "$KV.scoremesh_tenants.>"), control, role);
    assert.equal(allows(role, "$JS.API.STREAM.CREATE.KV_scoremesh_policy"), control, role);
  }
});

test("each role writes only its own buckets and reads what it needs", () => {
  assert.ok(allows("router", "$KV.scoremesh_breakers.>"));
  assert.ok(allows("router", "$JS.API.DIRECT.GET.KV_scoremesh_policy.>"));
  assert.ok(!allows("router", "$KV.scoremesh_workers.>"));
  assert.ok(allows("model-worker", "$KV.scoremesh_workers.>"));
  assert.ok(!allows("model-worker", "$KV.scoremesh_breakers.>"));
  assert.ok(allows("monitor", "$JS.API.CONSUMER.CREATE.KV_scoremesh_workers"));
  assert.ok(!allows("monitor", "$KV.scoremesh_workers.>"));
  assert.ok(allows("validator", "$KV.scoremesh_usage.>") && allows("validator", "$KV.scoremesh_validators.>"));
  assert.ok(allows("validator", "$JS.API.STREAM.INFO.KV_scoremesh_tenants"));
  assert.ok(!allows("validator", "$JS.API.STREAM.INFO.KV_scoremesh_policy"));
  assert.ok(allows("monitor", "$KV.scoremesh_rollouts.>") && allows("control", "$KV.scoremesh_rollouts.>"));
  assert.ok(!allows("router", "$KV.scoremesh_rollouts.>") && !allows("validator", "$KV.scoremesh_rollouts.>"));
  for (const role of NATS_ROLES)
    assert.deepEqual(rolePermissions(role, "_INBOX_X").subscribe.allow, ["_INBOX_X.>"], "its own inbox only");
});

test("the audit stream: routers publish records and checkpoints only; control creates and reads it", () => {
  for (const role of NATS_ROLES) {
    const router = role === "router";
    const control = role === "control";
    assert.equal(allows(role, "scoremesh.audit.*.*"), router, role);
    assert.equal(allows(role, "scoremesh.audit-checkpoint.*"), router, role);
    assert.equal(allows(role, "$JS.API.STREAM.CREATE.SCOREMESH_AUDIT"), control, role);
    assert.equal(allows(role, "$JS.API.CONSUMER.CREATE.SCOREMESH_AUDIT.>"), control, role);
    assert.ok(!allows(role, "$JS.API.STREAM.MSG.DELETE.SCOREMESH_AUDIT"), `${role}: nobody deletes audit records`);
    assert.equal(
      allows(role, "$JS.API.STREAM.PURGE.SCOREMESH_AUDIT"),
      control,
      `${role}: only control purges the audit stream (retention, at a checkpoint boundary)`,
    );
  }
});

test("review cases and the audit's review and outcome subjects: the monitor's alone", () => {
  for (const role of NATS_ROLES) {
    const monitor = role === "monitor";
    assert.equal(allows(role, "$KV.scoremesh_reviews.>"), monitor, role);
    assert.equal(allows(role, "$KV.scoremesh_decisions.>"), monitor, role);
    assert.equal(allows(role, "$KV.scoremesh_outcome_counts.>"), monitor, role);
    assert.equal(allows(role, "$JS.API.STREAM.CREATE.KV_scoremesh_reviews"), monitor, role);
    assert.equal(allows(role, "scoremesh.audit-review.*"), monitor, role);
    assert.equal(allows(role, "scoremesh.audit-outcome.*"), monitor, role);
    assert.equal(allows(role, "$JS.API.STREAM.UPDATE.SCOREMESH_AUDIT"), role === "control", role);
  }
  assert.ok(!allows("monitor", "$JS.API.CONSUMER.CREATE.SCOREMESH_AUDIT.>"), "the monitor reads nothing of the audit");
});

test("ensureMeshKeys: seeds 0600, kept across starts; the server config holds public keys only", () => {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-keys-"));
  try {
    const a = ensureMeshKeys(dir);
    const b = ensureMeshKeys(dir);
    assert.deepEqual(a.publicKey, b.publicKey, "the same identities on a second start");
    for (const role of NATS_ROLES) {
      assert.equal(statSync(a.seedFile[role]).mode & 0o777, 0o600, role);
      assert.match(readFileSync(a.seedFile[role], "utf8"), /^SU[A-Z2-7]+\n$/);
    }
    assert.equal(statSync(a.operatorKeyFile).mode & 0o777, 0o600);
    const conf = readFileSync(a.natsConfigFile, "utf8");
    assert.ok(!/"S[UO][A-Z2-7]{20,}/.test(conf), "no seed in the server's configuration");
    for (const role of NATS_ROLES) assert.ok(conf.includes(a.publicKey[role]), role);
    const ops = JSON.parse(readFileSync(a.trustedOperatorsFile, "utf8")) as { operators: { name: string }[] };
    assert.deepEqual(
      ops.operators.map((o) => o.name).sort(),
      ["launcher", "rollout-controller", a.operatorName].sort(),
    );
    assert.equal(statSync(a.rolloutOperatorKeyFile).mode & 0o777, 0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the model object store: control publishes, retires and creates it; workers and routers only read it", () => {
  for (const role of NATS_ROLES) {
    const control = role === "control";
    const reads = control || role === "router" || role === "model-worker";
    assert.equal(allows(role, "$O.scoremesh_models.>"), control, role);
    assert.equal(allows(role, "$JS.API.STREAM.CREATE.OBJ_scoremesh_models"), control, role);
    assert.equal(allows(role, "$JS.API.STREAM.PURGE.OBJ_scoremesh_models"), control, role);
    assert.equal(allows(role, "$JS.API.STREAM.INFO.OBJ_scoremesh_models"), reads, role);
    assert.equal(allows(role, "$JS.API.CONSUMER.CREATE.OBJ_scoremesh_models.>"), reads, role);
    assert.equal(allows(role, "$JS.FC.OBJ_scoremesh_models.>"), reads, role);
    assert.ok(!allows(role, "$JS.API.STREAM.DELETE.OBJ_scoremesh_models"), `${role}: nobody deletes the store`);
  }
});
