import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Assignment, AuditRecordSchema, CheckpointSchema } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { FeatureService } from "../../../gen/scoremesh/feature/v1/feature_pb.js";
import { Decision, Route, ScoringService } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import {
  AuditTrail,
  decodeFrames,
  encodeAuditRecord,
  encodeFrame,
  FrameKind,
  signCheckpoint,
  Spool,
  verifyTrail,
  writerName,
} from "../../../services/lib/audit/index.js";
import { buildVector, ModelRepository, RulesScorecard, specHash } from "../../../services/lib/model/index.js";
import { edgeAuditRecords, edgeModel, grpcCodeName } from "../../../services/validator/edge-audit-records.js";
import { EdgeRules } from "../../../services/validator/edge-rules.js";
import { scoringRoutes } from "../../../services/validator/routes.js";
import { replayRecords } from "../../../tools/meshctl/replay/replay-run.js";
import { ReplayScorer } from "../../../tools/meshctl/replay/scorer.js";
import { CREDIT_INPUTS, creditRows } from "../../support/credit-data.js";
import { inProcessClient, rejectionOf } from "../../support/in-process.js";
import { memoryLog, spooled, tempDir } from "../lib/audit/audit-fixture.js";

const MODEL = "credit-default";
const spec = new ModelRepository(join(PROJECT_ROOT, "models")).spec(MODEL);
const rules = new RulesScorecard(spec);
const edgeKeys = generateKeyPairSync("ed25519");
const routerKeys = generateKeyPairSync("ed25519");
const LATE = { ...CREDIT_INPUTS, PAY_0: 2, PAY_2: 2, BILL_AMT1: 95_000, LIMIT_BAL: 100_000, PAY_AMT1: 0 };

test("grpcCodeName: the gRPC status name of a Connect code", () => {
  assert.equal(grpcCodeName(Code.Unavailable), "UNAVAILABLE");
  assert.equal(grpcCodeName(Code.DeadlineExceeded), "DEADLINE_EXCEEDED");
});

test("edgeAuditRecords: the edge's rules decision, with its inputs less the protected attributes, and why", () => {
  const m = edgeModel(spec, rules);
  const built = buildVector(spec, LATE);
  const score = rules.score(built.vector).score;
  const row = {
    requestId: "e-1",
    tenantId: "t1",
    traceId: "0af7651916cd43dd8448eb211c80319c",
    entityId: "C7",
    inputs: LATE,
    labels: { channel: "web" },
    explain: true,
  };
  const decided = [{ row, vector: built.vector, imputed: built.imputed, score, decision: Decision.DECLINE }];
  const [init] = edgeAuditRecords(m, decided, {
    decidedAt: { seconds: 1_780_000_000n, nanos: 0 },
    reason: "UNAVAILABLE",
    reviewBand: 0.02,
  });
  const link = { writer: "validator-h-1-x", seq: 1n, prevHash: new Uint8Array(32) };
  const r = fromBinary(AuditRecordSchema, encodeAuditRecord(MODEL, init!, link));
  assert.deepEqual(
    [r.assignment, r.route, r.modelVersion, r.degraded, r.degradedReason, r.reviewBand, r.score, r.decision],
    [Assignment.EDGE_RULES, Route.RULES, "rules", true, "UNAVAILABLE", 0.02, score, Decision.DECLINE],
  );
  assert.deepEqual([r.requestId, r.tenantId, r.traceId, r.entityId], ["e-1", "t1", row.traceId, "C7"]);
  assert.deepEqual(
    [r.model, r.featureSpecHash, r.explain, r.labels],
    [MODEL, specHash(spec), true, { channel: "web" }],
  );
  assert.deepEqual(r.thresholds && [r.thresholds.review, r.thresholds.decline], [
    rules.thresholds().review,
    rules.thresholds().decline,
  ]);
  assert.deepEqual(r.vector, Array.from(built.vector));
  assert.deepEqual(r.reasons, []);
  for (const p of ["SEX", "AGE", "MARRIAGE"]) assert.ok(!(p in r.inputs), `no raw ${p}`);
  assert.equal(r.inputs["PAY_0"], 2);
  assert.ok(Object.keys(r.segment).length > 0, "protected attributes only as coarse segments");
  assert.equal(Object.keys(r.entityFeatures).length, 0, "the edge reads no entity features");
});

/** The validator's routes with its rules and a real edge trail in `dir`; every downstream call fails with `code`. */
function edge(dir: string, code: Code, maxBytes = 1 << 30) {
  const { log } = memoryLog();
  const writer = writerName("edge");
  const spool = Spool.open({ dir, writer, syncMs: 10, maxBytes, log });
  const trail = new AuditTrail(spool, {
    writer,
    role: "edge",
    key: edgeKeys.privateKey,
    checkpointMs: 3_600_000,
    whenFull: "refuse",
    log,
  });
  const specs = new Map([[MODEL, spec]]);
  const feature = inProcessClient(FeatureService, {
    scoreRows() {
      throw new ConnectError("no router", code);
    },
  });
  const rulesAtEdge = new EdgeRules(specs, { reviewBand: 0.02, reserveMs: 25, audit: trail });
  const routes = scoringRoutes({ specs, feature, defaultTimeoutMs: 1500, maxBatchRows: 4, rules: rulesAtEdge });
  return { scoring: inProcessClient(ScoringService, routes), spool, trail, writer };
}

test("the edge spools each rules decision before it answers, on its own subjects; verify takes the edge's key", async (t) => {
  const dir = tempDir(t);
  const { scoring, spool, trail, writer } = edge(dir, Code.DeadlineExceeded);
  const res = await scoring.scoreBatch({
    requests: [
      { requestId: "a", model: MODEL, inputs: LATE },
      { requestId: "b", model: MODEL, inputs: { ...CREDIT_INPUTS } },
    ],
  });
  assert.deepEqual(
    res.responses.map((r) => [r.requestId, r.route, r.degraded]),
    [
      ["a", Route.RULES, true],
      ["b", Route.RULES, true],
    ],
  );
  // Written before the answer: the active segment holds both records already.
  const frames = readdirSync(dir)
    .filter((f) => f.endsWith(".wal"))
    .flatMap((f) => decodeFrames(readFileSync(join(dir, f))).frames)
    .filter((f) => f.kind === FrameKind.Record);
  assert.deepEqual(
    frames.map((f) => f.meta),
    [1, 2].map((seq) => `scoremesh.audit-edge.${MODEL}.${writer} ${writer}|${MODEL}|${seq}`),
  );
  const records = frames.map((f) => fromBinary(AuditRecordSchema, f.payload));
  assert.deepEqual(
    records.map((r) => [r.requestId, r.decision, r.score, r.degradedReason]),
    res.responses.map((r) => [r.requestId, r.decision, r.score, "DEADLINE_EXCEEDED"]),
  );
  trail.close();
  spool.close();
  const entries = spooled(dir);
  assert.deepEqual(verifyTrail(entries, { router: routerKeys.publicKey, edge: edgeKeys.publicKey }).problems, []);
  assert.deepEqual(
    verifyTrail(entries, routerKeys.publicKey).problems.map((p) => p.kind),
    ["bad-checkpoint", "bad-checkpoint", "inserted"],
    "the routers' key does not vouch for the edge's chains",
  );
});

test("the edge's key vouches for no router's chain", (t) => {
  const dir = tempDir(t);
  const { log } = memoryLog();
  const spool = Spool.open({ dir, writer: "router-x", syncMs: 10, maxBytes: 1 << 30, log });
  const cp = signCheckpoint("router-x", 1n, Date.now(), [], edgeKeys.privateKey);
  spool.append(encodeFrame(FrameKind.Checkpoint, toBinary(CheckpointSchema, cp)));
  spool.close();
  const report = verifyTrail(spooled(dir), { router: routerKeys.publicKey, edge: edgeKeys.publicKey });
  assert.deepEqual(
    report.problems.map((p) => p.kind),
    ["bad-checkpoint"],
  );
});

test("a full edge spool: the call is refused UNAVAILABLE rather than answered unrecorded", async (t) => {
  const dir = tempDir(t);
  const { scoring, spool, trail } = edge(dir, Code.Unavailable, 1024);
  const err = await rejectionOf(
    scoring.scoreBatch({
      requests: [1, 2, 3, 4].map((i) => ({ requestId: `f-${i}`, model: MODEL, inputs: { ...CREDIT_INPUTS } })),
    }),
  );
  assert.equal(err.code, Code.Unavailable);
  assert.match(err.rawMessage, /could not be recorded/);
  trail.close();
  spool.close();
});

test("the edge's records replay bit for bit against the rules, and the replay says the edge decided them", async (t) => {
  const dir = tempDir(t);
  const { spool, trail } = edge(dir, Code.Unavailable);
  const rulesAtEdge = new EdgeRules(new Map([[MODEL, spec]]), { reviewBand: 0.02, reserveMs: 25, audit: trail });
  const rows = [LATE, ...creditRows(40)].map((inputs, i) => ({ requestId: `x-${i}`, tenantId: "t1", inputs }));
  const decisions = rulesAtEdge.decide(MODEL, rows, new ConnectError("no router", Code.Unavailable));
  assert.ok(new Set(decisions.map((d) => d.decision)).size > 1, "more than one kind of decision");
  trail.close();
  spool.close();
  const items = spooled(dir)
    .filter((e) => e.kind === FrameKind.Record)
    .map((e) => ({ at: e.at, record: fromBinary(AuditRecordSchema, e.bytes) }));
  const noWorker = { modelInfer: () => Promise.reject(new Error("no worker")) } as unknown as ConstructorParameters<
    typeof ReplayScorer
  >[1];
  const results = await replayRecords(
    items,
    new ReplayScorer(new ModelRepository(join(PROJECT_ROOT, "models")), noWorker),
  );
  assert.deepEqual(
    results.map((r) => [r.status, r.edge]),
    rows.map(() => ["match", "UNAVAILABLE"]),
  );
});
