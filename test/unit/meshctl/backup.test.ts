import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import { startKeyedNats, type KeyedNats } from "../../support/nats-keys.js";
import {
  AUDIT_STREAM,
  decodeFrames,
  ensureAuditStream,
  verifyTrail,
  type TrailEntry,
} from "../../../services/lib/audit/index.js";
import {
  kvKeys,
  ModelStore,
  MODEL_BUCKET,
  PolicyStore,
  RolloutStore,
  TenantStore,
  TENANT_BUCKET,
} from "../../../services/lib/nats/index.js";
import { REVIEW_BUCKET } from "../../../services/monitor/reviews/action-signing.js";
import { DECISION_BUCKET } from "../../../services/monitor/outcomes/outcome-store.js";
import { Shipper } from "../../../services/lib/audit/shipper.js";
import { readTrail } from "../../../tools/meshctl/audit-read.js";
import { backupMesh, restoreMesh } from "../../../tools/meshctl/backup/mesh-backup.js";
import { BACKUP_BUCKETS } from "../../../tools/meshctl/backup/parts.js";
import { BACKUP_FORMAT, BackupWriter, streamFile, type BackupManifest } from "../../../tools/meshctl/backup/format.js";
import { ORIGINAL_MSG_ID_HEADER, ORIGINAL_SEQ_HEADER } from "../../../tools/meshctl/backup/stream.js";
import { headerPairs } from "../../../tools/meshctl/backup/objects.js";
import { keys, memoryLog, openTrail, record } from "../lib/audit/audit-fixture.js";

interface Node {
  nats: KeyedNats;
  conns: { control: NatsConnection; monitor: NatsConnection; router: NatsConnection; validator: NatsConnection };
}

/** A keyed nats-server in its own folder with a connection per role; stopped after the test. */
async function node(t: { after: (fn: () => Promise<void> | void) => void }, dir: string): Promise<Node> {
  const nats = await startKeyedNats(dir);
  const conns = {
    control: await nats.connectAs("control"),
    monitor: await nats.connectAs("monitor"),
    router: await nats.connectAs("router"),
    validator: await nats.connectAs("validator"),
  };
  t.after(async () => {
    for (const nc of Object.values(conns)) await nc.close();
    await nats.server.stop();
  });
  return { nats, conns };
}

/** Tenants, a signed policy, its history, a review case, a decision awaiting its outcome, a model version, audit. */
async function fill(n: Node, spoolDir: string): Promise<void> {
  const { control, monitor, router } = n.conns;
  const trust = { trusted: n.nats.trusted, signer: n.nats.operator };
  const tenants = await TenantStore.open(control, trust);
  for (const id of ["payments", "lending"])
    await tenants.create({ id, allowedModels: ["*"], ratePerSecond: 50, burst: 100, dailyQuota: 0n, maxBatch: 0 });
  await (await PolicyStore.open(control, trust)).put({ model: "credit-default", championVersion: "3" });
  const rollouts = await RolloutStore.open(control);
  await rollouts.record({
    at: new Date().toISOString(),
    model: "credit-default",
    by: "ana",
    what: "champion 3",
    why: "test",
  });
  await rollouts.acquire("monitor-1", 60_000);
  const models = (await ModelStore.open(control, { create: true }))!;
  const onnx = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
  await models.os.putBlob({ name: "versions/credit-default/3/model.onnx" }, onnx);
  await models.os.putBlob(
    { name: "versions/credit-default/3/manifest.json" },
    Buffer.from('{"model":"credit-default"}'),
  );
  await (await monitor.jetstream().views.kv(REVIEW_BUCKET, { history: 1 })).put("case-1", Buffer.from("open"));
  await (
    await monitor.jetstream().views.kv(DECISION_BUCKET, { history: 1, ttl: 3_600_000 })
  ).put("r-1", Buffer.from("d"));
  await ensureAuditStream(await control.jetstreamManager());
  const { spool, trail } = openTrail(spoolDir, memoryLog().log);
  for (let i = 1; i <= 30; i += 3) trail.record("credit-default", [record(i), record(i + 1), record(i + 2)]);
  trail.checkpoint();
  const shipper = new Shipper(spool, router.jetstream(), { intervalMs: 3_600_000, log: memoryLog().log });
  await shipper.tick();
  await shipper.close(false);
  spool.close();
  await monitor.jetstream().publish("scoremesh.audit-outcome.credit-default", Buffer.from("outcome"), { msgID: "o-1" });
}

async function kvDump(nc: NatsConnection, bucket: string): Promise<Record<string, string>> {
  const kv = await nc.jetstream().views.kv(bucket, { bindOnly: true });
  const out: Record<string, string> = {};
  for (const k of await kvKeys(kv)) out[k] = Buffer.from((await kv.get(k))!.value).toString("base64");
  return out;
}

async function streamDump(nc: NatsConnection) {
  const c = await nc.jetstream().consumers.get(AUDIT_STREAM);
  const n = (await (await nc.jetstreamManager()).streams.info(AUDIT_STREAM)).state.messages;
  let originals = 0;
  const msgs: { subject: string; data: string; headers: [string, string][] }[] = [];
  for await (const m of await c.fetch({ max_messages: n, expires: 2000 })) {
    const headers = headerPairs(m.headers).filter(([k]) => !k.startsWith("Scoremesh-Original-"));
    if (headers.length < headerPairs(m.headers).length) originals++;
    msgs.push({ subject: m.subject, data: Buffer.from(m.data).toString("base64"), headers });
  }
  return { msgs, originals };
}

/** The trail entries of dumped messages, as readTrail makes them. */
function entriesOf(msgs: { data: string }[]): TrailEntry[] {
  return msgs.flatMap((m, i) =>
    decodeFrames(Buffer.from(m.data, "base64")).frames.map((f, frame) => ({
      at: i + 1,
      frame,
      kind: f.kind,
      bytes: f.payload,
    })),
  );
}

test("backup, then restore into a fresh nats-server: every bucket, object and audit message comes back; audit verify passes", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-backup-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [a, b] = [await node(t, join(dir, "a")), await node(t, join(dir, "b"))];
  await fill(a, join(dir, "spool"));
  writeFileSync(join(dir, "signing-key.pem"), "PRIVATE", { mode: 0o600 });
  const progress: string[] = [];
  const out = join(dir, "backup");
  const m = await backupMesh(a.conns, out, {
    signingKeyFile: join(dir, "signing-key.pem"),
    progress: (l) => progress.push(l),
  });
  assert.equal(m.kv.find((p) => p.bucket === TENANT_BUCKET)!.keys, 2);
  assert.equal(m.kv.find((p) => p.bucket === "scoremesh_rollouts")!.keys, 1, "the history, not the lease");
  assert.equal(m.objects[0]!.objects, 2);
  assert.equal(m.streams[0]!.messages > 1, true);
  assert.equal(statSync(out).mode & 0o777, 0o700);
  assert.equal(statSync(join(out, "secrets/audit-signing-key.pem")).mode & 0o777, 0o600);
  assert.ok(progress.some((l) => l.startsWith(`${AUDIT_STREAM}:`)));

  await restoreMesh(b.conns, out);
  for (const { bucket, role } of BACKUP_BUCKETS) {
    const want = await kvDump(a.conns[role], bucket).catch(() => ({}));
    if (bucket === "scoremesh_rollouts") delete (want as Record<string, string>)["lease"];
    assert.deepEqual(await kvDump(b.conns[role], bucket).catch(() => ({})), want, bucket);
  }
  const decisions = await (await b.conns.monitor.jetstream().views.kv(DECISION_BUCKET, { bindOnly: true })).status();
  assert.equal(decisions.ttl, 3_600_000, "the bucket's TTL kept");
  const [osA, osB] = [
    await a.conns.control.jetstream().views.os(MODEL_BUCKET),
    await b.conns.control.jetstream().views.os(MODEL_BUCKET),
  ];
  const digests = async (os: typeof osA) => (await os.list()).map((o) => `${o.name} ${o.digest}`).sort();
  assert.deepEqual(await digests(osB), await digests(osA));
  const [streamA, streamB] = [await streamDump(a.conns.control), await streamDump(b.conns.control)];
  assert.deepEqual(streamB.msgs, streamA.msgs, "subjects, payloads and headers (publish ids) in order");
  assert.equal(streamB.originals, streamA.msgs.length, "each restored message says where it was stored first");
  const report = verifyTrail((await readTrail(b.conns.control)).entries, keys.publicKey);
  const original = verifyTrail(entriesOf(streamA.msgs), keys.publicKey);
  assert.deepEqual(report.problems, []);
  assert.equal(report.records, 30);
  assert.equal(report.checkpoints, original.checkpoints);

  await assert.rejects(restoreMesh(b.conns, out), /already holds data \(scoremesh_tenants: 2 keys/);
  await restoreMesh(b.conns, out, { force: true });
  assert.deepEqual(
    verifyTrail((await readTrail(b.conns.control)).entries, keys.publicKey).problems,
    [],
    "copies verify as one",
  );
});

test("a backup altered or incomplete is refused before anything is written", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-backup-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [a, b] = [await node(t, join(dir, "a")), await node(t, join(dir, "b"))];
  await (
    await TenantStore.open(a.conns.control, { trusted: a.nats.trusted, signer: a.nats.operator })
  ).create({
    id: "payments",
    allowedModels: ["*"],
    ratePerSecond: 50,
    burst: 100,
    dailyQuota: 0n,
    maxBatch: 0,
  });
  const out = join(dir, "backup");
  await backupMesh(a.conns, out);
  await assert.rejects(backupMesh(a.conns, out), /is not empty/);
  const file = join(out, `kv/${TENANT_BUCKET}.jsonl`);
  writeFileSync(file, readFileSync(file, "utf8").replace(/"value":"./, '"value":"A'));
  await assert.rejects(restoreMesh(b.conns, out), /kv\/scoremesh_tenants\.jsonl .* does not match its SHA-256/);
  rmSync(file);
  await assert.rejects(restoreMesh(b.conns, out), /kv\/scoremesh_tenants\.jsonl is missing/);
  const jsm = await b.conns.control.jetstreamManager();
  assert.deepEqual(
    (await jsm.streams.names().next()).filter((s) => s.startsWith("KV_")),
    [],
    "nothing written",
  );
});

test("a publish id twice in a backed-up stream (re-shipped after the duplicate window) is restored twice, not dropped", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-backup-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const b = await node(t, join(dir, "b"));
  const out = new BackupWriter(join(dir, "backup"));
  const line = (seq: number, data: string) => ({
    seq,
    time: new Date(0).toISOString(),
    subject: "scoremesh.audit-outcome.credit-default",
    headers: [["Nats-Msg-Id", "o-1"]],
    data: Buffer.from(data).toString("base64"),
  });
  out.lines(streamFile(AUDIT_STREAM), [line(1, "first"), line(9, "again")]);
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    createdAt: new Date().toISOString(),
    kv: [],
    objects: [],
    streams: [{ stream: AUDIT_STREAM, messages: 2, bytes: 10, firstSeq: 1, lastSeq: 9 }],
    signingKey: false,
    files: out.files,
  };
  out.write("manifest.json", JSON.stringify(manifest));
  await restoreMesh(b.conns, out.dir);
  const c = await b.conns.control.jetstream().consumers.get(AUDIT_STREAM);
  const got: string[] = [];
  for await (const m of await c.fetch({ max_messages: 2, expires: 2000 }))
    got.push(
      `${m.string()} ${m.headers?.get("Nats-Msg-Id") || "-"} ${m.headers?.get(ORIGINAL_MSG_ID_HEADER) || "-"} ${m.headers?.get(ORIGINAL_SEQ_HEADER)}`,
    );
  assert.deepEqual(got, ["first o-1 - 1", "again - o-1 9"]);
});
