import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startKeyedNats } from "../../support/nats-keys.js";
import { AUDIT_STREAM, AUDIT_STREAM_SUBJECTS } from "../../../services/lib/audit/index.js";
import {
  MODEL_BUCKET,
  POLICY_BUCKET,
  ROLLOUT_BUCKET,
  setBucketReplicas,
  TENANT_BUCKET,
} from "../../../services/lib/nats/index.js";
import { bootstrapMesh } from "../../../tools/meshctl/bootstrap.js";
import { MeshTarget } from "../../../tools/meshctl/target.js";
import { BOOTSTRAP_ARGS } from "../../../deploy/k8s/bootstrap-job.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";

test("meshctl bootstrap creates the audit stream, the model store and the control buckets as control, again and again; a router may not", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "meshctl-bootstrap-"));
  const nats = await startKeyedNats(dir);
  t.after(async () => {
    setBucketReplicas(1);
    await nats.server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const as = (role: "control" | "router") =>
    new MeshTarget(join(dir, "none"), {
      NATS_URL: nats.server.url,
      NATS_NKEY_SEED_FILE: nats.keys.seedFile[role],
      NATS_REPLICAS: "1",
    });
  // The routers' identity may publish records but not create the stream: that is why the Job runs as control.
  await assert.rejects(bootstrapMesh(as("router")), /permission|authorization/i);

  const first = await bootstrapMesh(as("control"));
  assert.deepEqual(first, {
    auditStream: { name: AUDIT_STREAM, replicas: 1, subjects: AUDIT_STREAM_SUBJECTS },
    modelStore: MODEL_BUCKET,
    buckets: [POLICY_BUCKET, TENANT_BUCKET, ROLLOUT_BUCKET],
  });
  // The Kubernetes Job's command line, as it runs there (but one replica: one server here).
  const env = { PATH: process.env["PATH"], NATS_URL: nats.server.url, NATS_NKEY_SEED_FILE: nats.keys.seedFile.control };
  const cli = await promisify(execFile)(process.execPath, BOOTSTRAP_ARGS, { cwd: PROJECT_ROOT, env });
  assert.deepEqual(JSON.parse(cli.stdout), first);
  const nc = await nats.connectAs("control");
  try {
    const jsm = await nc.jetstreamManager();
    const before = await jsm.streams.info(AUDIT_STREAM);
    // A stream of an older build (fewer subjects) gets the ones it lacks; the messages stay.
    await jsm.streams.update(AUDIT_STREAM, { ...before.config, subjects: AUDIT_STREAM_SUBJECTS.slice(0, 2) });
    const router = await nats.connectAs("router");
    await router.jetstream().publish("scoremesh.audit-checkpoint.w1", new Uint8Array([1]));
    await router.close();
    assert.deepEqual(await bootstrapMesh(as("control")), first);
    const after = await jsm.streams.info(AUDIT_STREAM);
    assert.equal(after.state.messages, 1);
    assert.equal(after.created, before.created);
    assert.equal((await jsm.streams.info(`OBJ_${MODEL_BUCKET}`)).config.name, `OBJ_${MODEL_BUCKET}`);
    // The readers find the buckets: a router opens the policies, a validator the tenants (they may not create).
    const readers = { router: POLICY_BUCKET, validator: TENANT_BUCKET } as const;
    for (const [role, bucket] of Object.entries(readers)) {
      const reader = await nats.connectAs(role as keyof typeof readers);
      await reader
        .jetstream()
        .views.kv(bucket, { bindOnly: true })
        .finally(() => reader.close());
    }
  } finally {
    await nc.close();
  }
});
