import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { connect, type NatsConnection } from "nats";
import { AuditRecordSchema, ChainLinkSchema } from "../../gen/scoremesh/audit/v1/audit_pb.js";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { Decision, Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { encodeFrame, FrameKind, recordSubject } from "../../services/lib/audit/index.js";
import {
  buildVector,
  copyFloats,
  decide,
  floatBytes,
  ModelRepository,
  parseSnapshot,
} from "../../services/lib/model/index.js";
import { identityOptions, operatorSigner, PolicyStore } from "../../services/lib/nats/index.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { EnvReader, natsIdentity, trustedOperators } from "../../services/lib/service/index.js";
import { readTrail } from "../../tools/meshctl/audit-read.js";
import { creditRows } from "../support/credit-data.js";
import { meshctlEnv, sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = repo.spec(MODEL);
const SNAPSHOT = join(PROJECT_ROOT, "models", MODEL, "entities", "snapshot-20051001T000000Z.jsonl");
const snapshot = parseSnapshot(readFileSync(SNAPSHOT, "utf8"), { source: SNAPSHOT, spec });
const PER_VERSION = 250;

/** One decision the test received, with what it sent. */
interface Received {
  requestId: string;
  inputs: Record<string, number>;
  entityId: string;
  version: string;
  route: Route;
  decision: Decision;
  score: number;
}

async function natsAs(fx: MeshFixture, role: "control" | "router"): Promise<NatsConnection> {
  const identity = natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: fx.mesh.keys.seedFile[role] }));
  return connect({ servers: fx.mesh.natsUrl, timeout: 5000, ...identityOptions(identity) });
}

/** Scores rows [offset, offset + n) in one ScoreBatch (entity C<row>, every third row with explain). */
async function scoreRows(fx: MeshFixture, tag: string, offset: number, n: number): Promise<Received[]> {
  const rows = creditRows(n, offset);
  const requests = rows.map((inputs, i) => ({
    requestId: `${tag}-${offset + i}`,
    model: MODEL,
    entityId: `C${String(offset + i).padStart(5, "0")}`,
    inputs,
    explain: i % 3 === 0,
  }));
  const res = await fx.scoring.scoreBatch({ requests }, { timeoutMs: 20_000 });
  return res.responses.map((r, i) => ({
    requestId: r.requestId,
    inputs: rows[i]!,
    entityId: requests[i]!.entityId,
    version: r.modelVersion,
    route: r.route,
    decision: r.decision,
    score: r.score,
  }));
}

/** Waits until the router serves `version`; the probe calls' decisions (recorded too) go to `into`. */
async function serving(fx: MeshFixture, version: string, into: Received[]): Promise<void> {
  const end = Date.now() + 15_000;
  const inputs = creditRows(1)[0]!;
  while (Date.now() < end) {
    const r = await fx.scoring.score({ model: MODEL, inputs });
    into.push({ ...r, inputs, entityId: "", version: r.modelVersion });
    if (r.modelVersion === version && r.route === Route.PRIMARY) return;
    await sleep(100);
  }
  assert.fail(`the router did not serve version ${version} within 15 s`);
}

async function waitInStream(nc: NatsConnection, ids: readonly string[]): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    const { entries } = await readTrail(nc);
    const have = new Set(
      entries.filter((e) => e.kind === FrameKind.Record).map((e) => fromBinary(AuditRecordSchema, e.bytes).requestId),
    );
    const missing = ids.filter((id) => !have.has(id));
    if (missing.length === 0) return;
    if (Date.now() > end) assert.fail(`${missing.length} decisions not in the stream, e.g. ${missing[0]}`);
    await sleep(300);
  }
}

/** Names `version` champion in the serving policy, signed with the launcher's operator key (as set-champion does). */
async function setChampion(fx: MeshFixture, nc: NatsConnection, version: string): Promise<void> {
  const env = new EnvReader({ ...fx.mesh.env, ...fx.mesh.controlEnv });
  const signer = operatorSigner(readFileSync(env.string("SCOREMESH_OPERATOR_KEY_FILE"), "utf8"));
  const store = await PolicyStore.open(nc, { trusted: trustedOperators(env), signer });
  const at = await store.read(MODEL);
  await store.putAt({ ...at.policy!, championVersion: version }, at.revision);
}

/** The worker's own scores of the rows by `version`, called directly (not through meshctl). */
async function directScores(fx: MeshFixture, version: string, rows: readonly Received[]): Promise<Float32Array> {
  const card = repo.card(MODEL, version);
  const width = card.features.length;
  const matrix = new Float32Array(rows.length * width);
  rows.forEach((r, i) => matrix.set(buildVector(spec, r.inputs, snapshot.entities.get(r.entityId)).vector, i * width));
  const t = createGrpcTransport({
    address: fx.mesh.env["WORKER_ADDR"]!,
    credentials: fx.mesh.credentials("model-worker"),
  });
  try {
    const res = await createClient(GRPCInferenceService, t).modelInfer({
      modelName: MODEL,
      modelVersion: version,
      inputs: [{ name: card.onnx.inputs[0]!.name, datatype: "FP32", shape: [BigInt(rows.length), BigInt(width)] }],
      outputs: [{ name: card.onnx.score_output }],
      rawInputContents: [floatBytes(matrix)],
    });
    return copyFloats(res.rawOutputContents[0]!, rows.length);
  } finally {
    t.close();
  }
}

describe("audit replay and simulation on a real mesh", () => {
  let fx: MeshFixture;
  let control: NatsConnection;
  const received: Received[] = [];

  before(async () => {
    const t0 = Date.now();
    const took = (what: string) => console.log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    fx = await startMeshFixture({ ROUTER_AUDIT_CHECKPOINT_MS: "1000", ROUTER_AUDIT_SHIP_MS: "200" });
    took("mesh started");
    control = await natsAs(fx, "control");
    const versions = repo.versions(MODEL);
    for (const [k, v] of versions.entries()) {
      await setChampion(fx, control, v);
      await serving(fx, v, received);
      received.push(...(await scoreRows(fx, `v${v}`, k * PER_VERSION, PER_VERSION)));
      took(`version ${v} scored`);
    }
    // The rules baseline: no worker answers.
    const worker = fx.mesh.processes.get("model-worker")!;
    worker.kill("SIGKILL");
    await once(worker, "exit");
    received.push(...(await scoreRows(fx, "rules", versions.length * PER_VERSION, 20)));
    took("rules scored");
    await fx.mesh.startService("model-worker");
    took("worker back");
    await waitInStream(
      control,
      received.map((r) => r.requestId),
    );
    took("all in the stream");
  });
  after(async () => {
    await control?.close();
    await fx?.close();
  });

  test("decisions of every shipped version and of the rules were recorded, with inputs, snapshot and policy revision", async () => {
    const byVersion = new Map<string, number>();
    for (const r of received) byVersion.set(r.version, (byVersion.get(r.version) ?? 0) + 1);
    assert.deepEqual([...byVersion.keys()].sort(), [...repo.versions(MODEL), "rules"].sort());
    const shown = await fx.meshctl("audit", "show", received[7]!.requestId, "--json");
    assert.equal(shown.code, 0, shown.stderr);
    const rec = (JSON.parse(shown.stdout) as { record: Record<string, unknown> }[])[0]!.record;
    const inputs = rec["inputs"] as Record<string, number>;
    assert.equal(inputs["LIMIT_BAL"], received[7]!.inputs["LIMIT_BAL"]);
    for (const p of ["SEX", "AGE", "MARRIAGE"]) assert.ok(!(p in inputs), `no raw ${p}`);
    assert.equal(rec["entitySnapshotId"], "snapshot-20051001T000000Z");
    assert.ok(Number(rec["policyRevision"]) > 0, `policy revision ${String(rec["policyRevision"])}`);
    assert.equal(Object.keys(rec["entityFeatures"] as object).length, 4);
  });

  test("meshctl audit replay: every recorded decision replays bit for bit (0 mismatches)", async () => {
    const run = await fx.meshctl("audit", "replay", "--since", "10m", "--json");
    assert.equal(run.code, 0, run.stdout.slice(0, 2000) + run.stderr);
    const report = JSON.parse(run.stdout) as Record<string, number> & { problems: unknown[] };
    assert.equal(report["records"], received.length);
    assert.deepEqual(
      [report["match"], report["mismatch"], report["skipped"], report["failed"]],
      [received.length, 0, 0, 0],
    );
    console.log(
      `replay: ${report["records"]} records in ${report["seconds"]!.toFixed(2)} s (${report["perSecond"]}/s)`,
    );
    const one = await fx.meshctl("audit", "replay", received.at(-1)!.requestId);
    assert.equal(one.code, 0, one.stdout + one.stderr);
    assert.match(one.stdout, /1 exact, 0 mismatched/);
  });

  test("meshctl simulate credit-default 4 matches the worker's direct scores of the same rows", async () => {
    const run = await fx.meshctl("simulate", MODEL, "4", "--since", "10m", "--json");
    assert.equal(run.code, 0, run.stderr);
    type Group = {
      rows: number;
      before: object;
      after: object;
      flipped: number;
      flips: Record<string, number>;
      expectedDefaults: { before: number; after: number };
    };
    const sim = JSON.parse(run.stdout) as {
      simulated: number;
      overall: Group;
      segments: Record<string, Record<string, Group>>;
    };
    const rows = received;
    const scores = await directScores(fx, "4", rows);
    const { thresholds } = repo.card(MODEL, "4");
    const expect = (pick: (i: number) => boolean) => {
      const idx = rows.map((_, i) => i).filter(pick);
      const rate = (ds: Decision[], d: Decision) => ds.filter((x) => x === d).length / idx.length;
      const before = idx.map((i) => rows[i]!.decision);
      const after = idx.map((i) => decide(scores[i]!, thresholds));
      const rates = (ds: Decision[]) => ({
        approve: rate(ds, Decision.APPROVE),
        review: rate(ds, Decision.REVIEW),
        decline: rate(ds, Decision.DECLINE),
      });
      return {
        rows: idx.length,
        before: rates(before),
        after: rates(after),
        flipped: idx.filter((_, k) => before[k] !== after[k]).length,
        defaultsBefore: idx.reduce((s, i, k) => s + (before[k] === Decision.APPROVE ? rows[i]!.score : 0), 0),
        defaultsAfter: idx.reduce((s, i, k) => s + (after[k] === Decision.APPROVE ? scores[i]! : 0), 0),
      };
    };
    assert.equal(sim.simulated, rows.length, "every recorded decision");
    const groups: [string, Group, (i: number) => boolean][] = [
      ["overall", sim.overall, () => true],
      ["male", sim.segments["sex"]!["male"]!, (i) => rows[i]!.inputs["SEX"] === 1],
      ["female", sim.segments["sex"]!["female"]!, (i) => rows[i]!.inputs["SEX"] === 2],
      ["married", sim.segments["marriage"]!["married"]!, (i) => rows[i]!.inputs["MARRIAGE"] === 1],
      ["tenant dev", sim.segments["tenant"]!["dev"]!, () => true],
    ];
    for (const [label, got, pick] of groups) {
      const want = expect(pick);
      assert.equal(got.rows, want.rows, `${label}: rows`);
      assert.deepEqual(got.before, want.before, `${label}: rates before`);
      assert.deepEqual(got.after, want.after, `${label}: rates after`);
      assert.equal(got.flipped, want.flipped, `${label}: flips`);
      assert.ok(Math.abs(got.expectedDefaults.before - want.defaultsBefore) < 1e-6);
      assert.ok(Math.abs(got.expectedDefaults.after - want.defaultsAfter) < 1e-6);
    }
    assert.ok(sim.overall.flipped > 0, "version 4 flips some decisions of the other versions");
  });

  test("meshctl rollout --simulate prints the simulation before it starts the rollout", async () => {
    // Version 5 is the champion now (the last one scored); version 4 the challenger.
    const args = ["rollout", MODEL, "4", "--simulate", "--since", "10m", "--limit", "100", "--steps", "50,100"];
    const p = spawn(process.execPath, [join(PROJECT_ROOT, "dist/tools/meshctl/main.js"), ...args, "--json"], {
      env: { ...process.env, ...meshctlEnv(fx.mesh) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr.on("data", (b: Buffer) => (err += b.toString()));
    for (const deadline = Date.now() + 30_000; !out.includes('"event":"started"') && Date.now() < deadline;)
      await sleep(100);
    p.kill("SIGKILL"); // the rollout runs in the monitor; meshctl only follows it
    const events = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; simulated?: number; version?: string; overall?: object });
    assert.deepEqual(
      events.slice(0, 2).map((e) => e.event),
      ["simulation", "started"],
      out + err,
    );
    assert.equal(events[0]!.simulated, 100, "the first 100 recorded decisions");
    assert.equal(events[0]!.version, "4");
    assert.ok(events[0]!.overall, "the simulation's overall rates");
    const back = await fx.meshctl("rollback", MODEL);
    assert.equal(back.code, 0, back.stderr);
  });

  test("a tampered copy of a record (one input changed) is reported as a mismatch, exit 1", async () => {
    const target = received.find((r) => r.version === "4" && r.decision === Decision.APPROVE)!;
    const { entries } = await readTrail(control);
    const original = entries
      .filter((e) => e.kind === FrameKind.Record)
      .map((e) => fromBinary(AuditRecordSchema, e.bytes))
      .find((r) => r.requestId === target.requestId)!;
    const copy = create(AuditRecordSchema, { ...original, inputs: { ...original.inputs, PAY_0: 8 } });
    copy.link = create(ChainLinkSchema, { writer: "router-tampered", seq: 1n, prevHash: new Uint8Array(32) });
    const nc = await natsAs(fx, "router");
    try {
      await nc
        .jetstream()
        .publish(
          recordSubject(MODEL, "router-tampered"),
          encodeFrame(FrameKind.Record, toBinary(AuditRecordSchema, copy)),
        );
    } finally {
      await nc.close();
    }
    const run = await fx.meshctl("audit", "replay", target.requestId);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /1 exact, 1 mismatched/);
    assert.match(run.stdout, /MISMATCH request .* vector recorded .*PAY_0/);
    assert.match(run.stdout, /MISMATCH request .* score recorded/);
    assert.match(run.stdout, /REPLAY MISMATCH/);
  });
});
