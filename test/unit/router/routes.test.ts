import { Assignment } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { pino } from "pino";
import { Code, ConnectError } from "@connectrpc/connect";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ReplayInputsSchema,
  RouterService,
  type FeatureRowSchema,
} from "../../../gen/scoremesh/router/v1/router_pb.js";
import type { DecisionRecordSchema } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision, Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import {
  buildVector,
  decide,
  decideDegraded,
  floatBytes,
  ModelRepository,
  RulesScorecard,
  specHash,
} from "../../../services/lib/model/index.js";
import { CardCache } from "../../../services/router/card-cache.js";
import { inCanary } from "../../../services/router/canary/assignment.js";
import { ChampionTable } from "../../../services/router/champions.js";
import { parseWhere } from "../../../services/lib/segments/index.js";
import { Reasoner } from "../../../services/router/explain/reasoner.js";
import { fallbackVersions } from "../../../services/router/fallback-versions.js";
import { routerRoutes, RULES_VERSION, type RouterDeps } from "../../../services/router/routes.js";
import type { WorkerEndpoint } from "../../../services/router/workers/worker-pool.js";
import { creditRows } from "../../support/credit-data.js";
import { inProcessClient } from "../../support/in-process.js";
import { AuditUnavailableError, type AuditRecordInit } from "../../../services/lib/audit/index.js";

// The router's Route handler in this process, over connect's in-memory transport. The thing under test is the
// router (its handler, cascade, decisions, reasons and records, with the shipped model repository); only its
// neighbours are fakes: the model worker (an in-process ONNX Runtime session, or scripted scores or errors) and
// the monitor (a list of the records it was sent).

const MODEL = "credit-default";
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = repo.spec(MODEL);
const SPEC_HASH = specHash(spec);
const CHAMPION = "3";
/** The fallback model ROUTER_FALLBACK_VERSIONS=auto picks: the lowest-numbered logistic-regression version. */
const FALLBACK = "1";
/** The light model of the light → heavy cascade. */
const LIGHT = "5";
const REVIEW_BAND = 0.02;
const sessions = new Map<string, ort.InferenceSession>();
const log = pino({ level: "silent" });
/** The router's own explainers, built once for all the tests (TreeSHAP reads the trees from model.onnx). */
const reasoner = new Reasoner(repo, log);

type RecordInit = MessageInitShape<typeof DecisionRecordSchema>;
type RowInit = MessageInitShape<typeof FeatureRowSchema>;
/** What the fake worker does for one ModelInfer of a version: scores for the rows, or throws. */
type Answer = (matrix: Float32Array, rows: number) => Float32Array | Promise<Float32Array>;

before(async () => {
  for (const v of [CHAMPION, FALLBACK, LIGHT])
    sessions.set(v, await ort.InferenceSession.create(repo.onnxPath(MODEL, v)));
});

/** The model worker's own answer: the version's ONNX graph in an in-process ONNX Runtime session. */
const onnx =
  (version: string): Answer =>
  async (matrix, rows) => {
    const out = await sessions
      .get(version)!
      .run({ features: new ort.Tensor("float32", matrix, [rows, matrix.length / rows]) });
    return out["probability"]!.data as Float32Array;
  };
const fail =
  (code: Code): Answer =>
  () => {
    throw new ConnectError("fake worker", code);
  };

/** A fake model worker behind one endpoint: ModelInfer answered per version by `answers` (none: NOT_FOUND). */
function fakeWorker(answers: Record<string, Answer>) {
  const calls: { version: string; rows: number }[] = [];
  const timeouts: number[] = [];
  const ep = {
    address: "fake-worker",
    client: {
      modelInfer: async (
        req: { modelVersion: string; inputs: { shape: bigint[] }[]; rawInputContents: Uint8Array[] },
        o: { timeoutMs: number },
      ) => {
        timeouts.push(o.timeoutMs);
        const rows = Number(req.inputs[0]!.shape[0]);
        const raw = req.rawInputContents[0]!;
        calls.push({ version: req.modelVersion, rows });
        const answer = answers[req.modelVersion] ?? fail(Code.NotFound);
        const scores = await answer(
          new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)),
          rows,
        );
        return { rawOutputContents: [floatBytes(Float32Array.from(scores))] };
      },
    },
  } as unknown as WorkerEndpoint;
  return { pool: { candidates: () => [ep] }, calls, timeouts };
}

/** A router with the shipped repository, champion CHAMPION, auto fallback and rules; `deps` overrides. */
async function router(answers: Record<string, Answer>, deps: Partial<RouterDeps> = {}) {
  const cards = new CardCache(repo);
  const champions = new ChampionTable();
  champions.want(MODEL, CHAMPION);
  await champions.reconcile(async () => true);
  const worker = fakeWorker(answers);
  const records: RecordInit[] = [];
  const routes = routerRoutes({
    reasons: reasoner,
    champions,
    cards: (m, v) => cards.card(m, v),
    workers: worker.pool,
    monitor: { enqueue: (r) => void records.push(...r) },
    workerTimeoutMs: 1000,
    retry: { maxAttempts: 1 },
    fallbackVersion: fallbackVersions("auto", repo, cards),
    rules: (m) => (m === MODEL ? new RulesScorecard(spec) : undefined),
    rulesReserveMs: 25,
    reviewBand: REVIEW_BAND,
    defaultTimeoutMs: 2025,
    log,
    ...deps,
  });
  const client = inProcessClient(RouterService, routes);
  return { client, calls: worker.calls, timeouts: worker.timeouts, records };
}

/** Feature vectors of the first rows of the credit data, as the feature service builds them (read once). */
const VECTORS = creditRows(40).map((inputs) => [...buildVector(spec, inputs).vector]);
/** The first `n` (at most 40) rows of the credit data as the router gets them. */
function featureRows(n: number): RowInit[] {
  return VECTORS.slice(0, n).map((features, i) => ({ requestId: `r-${i}`, features }));
}
const card = (version: string) => repo.card(MODEL, version);
const codeOf = (code: Code) => (err: unknown) => err instanceof ConnectError && err.code === code;

test("the champion's scores become decisions at its card's thresholds", async () => {
  const { client, calls } = await router({ [CHAMPION]: onnx(CHAMPION) });
  const rows = featureRows(40);
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows });
  assert.deepEqual(calls, [{ version: CHAMPION, rows: 40 }], "one ModelInfer for the call's rows");
  const expected = await onnx(CHAMPION)(Float32Array.from(rows.flatMap((r) => r.features!)), rows.length);
  res.decisions.forEach((d, i) => {
    assert.equal(d.requestId, `r-${i}`);
    assert.equal(d.modelVersion, CHAMPION);
    assert.equal(d.route, Route.PRIMARY);
    assert.equal(d.degraded, false);
    assert.equal(d.score, expected[i]);
    assert.equal(d.decision, decide(d.score, card(CHAMPION).thresholds));
  });
  assert.ok(new Set(res.decisions.map((d) => d.decision)).size >= 2, "the rows cover more than one decision");
});

test("a score just below and just above each threshold", async () => {
  const t = card(CHAMPION).thresholds;
  const scores = [t.review - 0.001, t.review + 0.001, t.decline - 0.001, t.decline + 0.001];
  const { client } = await router({ [CHAMPION]: () => Float32Array.from(scores) });
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows: featureRows(4) });
  assert.deepEqual(
    res.decisions.map((d) => d.decision),
    [Decision.APPROVE, Decision.REVIEW, Decision.REVIEW, Decision.DECLINE],
  );
  assert.ok(
    res.decisions.every((d) => d.route === Route.PRIMARY && !d.degraded),
    "no review band for the champion",
  );
});

test("vectors built with another feature spec are refused with FAILED_PRECONDITION, before any worker call", async () => {
  const { client, calls, records } = await router({ [CHAMPION]: onnx(CHAMPION) });
  await assert.rejects(
    client.route({ model: MODEL, featureSpecHash: "sha256:0000000000000000", rows: featureRows(1) }),
    codeOf(Code.FailedPrecondition),
  );
  assert.deepEqual(calls, []);
  assert.deepEqual(records, []);
});

test("a row of the wrong length is INVALID_ARGUMENT; a model without a policy is UNAVAILABLE", async () => {
  const { client, calls } = await router({ [CHAMPION]: onnx(CHAMPION) });
  const [row] = featureRows(1);
  const short = { ...row, features: row!.features!.slice(1) };
  await assert.rejects(client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows: [row!, short] }), (err) => {
    assert.ok(codeOf(Code.InvalidArgument)(err));
    assert.match((err as ConnectError).rawMessage, /^row 1: 30 features/);
    return true;
  });
  await assert.rejects(
    client.route({ model: "no-such-model", featureSpecHash: SPEC_HASH, rows: [row!] }),
    codeOf(Code.Unavailable),
  );
  assert.deepEqual(calls, []);
});

test("the champion's worker fails: the fallback model answers, degraded, with the review band", async () => {
  const { client, calls } = await router({ [CHAMPION]: fail(Code.Unavailable), [FALLBACK]: onnx(FALLBACK) });
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows: featureRows(30) });
  assert.deepEqual(
    calls.map((c) => c.version),
    [CHAMPION, FALLBACK],
  );
  for (const d of res.decisions) {
    assert.equal(d.route, Route.FALLBACK_MODEL);
    assert.equal(d.modelVersion, FALLBACK);
    assert.equal(d.degraded, true);
    assert.equal(d.decision, decideDegraded(d.score, card(FALLBACK).thresholds, REVIEW_BAND));
  }
});

test("a degraded score within the review band of a threshold goes to review", async () => {
  const t = card(FALLBACK).thresholds;
  const scores = [t.review - REVIEW_BAND / 2, t.decline + REVIEW_BAND / 2, t.review - 2 * REVIEW_BAND];
  const { client } = await router({ [CHAMPION]: fail(Code.Unavailable), [FALLBACK]: () => Float32Array.from(scores) });
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows: featureRows(3) });
  assert.deepEqual(
    res.decisions.map((d) => d.decision),
    [Decision.REVIEW, Decision.REVIEW, Decision.APPROVE],
  );
});

test("every worker call fails: the rules decide, degraded, without reasons", async () => {
  const { client, calls } = await router({
    [CHAMPION]: fail(Code.Unavailable),
    [FALLBACK]: fail(Code.DeadlineExceeded),
  });
  const rows = featureRows(30);
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows });
  assert.equal(calls.length, 2);
  const rules = new RulesScorecard(spec);
  res.decisions.forEach((d, i) => {
    assert.equal(d.route, Route.RULES);
    assert.equal(d.modelVersion, RULES_VERSION);
    assert.equal(d.degraded, true);
    assert.equal(d.score, rules.score(rows[i]!.features!).score);
    assert.equal(d.decision, decideDegraded(d.score, rules.thresholds(), REVIEW_BAND));
    assert.deepEqual(d.reasons, []);
  });
});

test("the caller's deadline is shared out: the rules' reserve kept back, the champion half of the rest", async () => {
  const { client, timeouts } = await router({ [CHAMPION]: fail(Code.Unavailable), [FALLBACK]: onnx(FALLBACK) });
  await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows: featureRows(1) }, { timeoutMs: 425 });
  const [champion, fallback] = timeouts;
  assert.ok(champion! <= 200 && champion! > 150, `the champion got ${champion} ms of (425 - 25) / 2`);
  // The champion failed at once: the fallback model gets what is left, all but the rules' reserve.
  assert.ok(fallback! <= 400 && fallback! > champion!, `the fallback model got ${fallback} ms, what was left`);
});

test("without a rules baseline, the last worker error reaches the caller", async () => {
  const { client } = await router(
    { [CHAMPION]: fail(Code.Unavailable), [FALLBACK]: fail(Code.ResourceExhausted) },
    { rules: () => undefined },
  );
  await assert.rejects(
    client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows: featureRows(1) }),
    codeOf(Code.ResourceExhausted),
  );
});

test("declines and reviews carry reason codes; approvals only when the row asks (explain)", async () => {
  const t = card(CHAMPION).thresholds;
  const scores = [t.decline + 0.1, t.review + 0.001, t.review - 0.1, t.review - 0.1];
  const { client } = await router({ [CHAMPION]: () => Float32Array.from(scores) });
  const rows = featureRows(4);
  rows[3] = { ...rows[3], explain: true };
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows });
  const [decline, review, approve, explained] = res.decisions;
  assert.equal(decline!.decision, Decision.DECLINE);
  assert.ok(decline!.reasons.length > 0, "a decline has reasons");
  assert.ok(review!.reasons.length > 0, "a review has reasons");
  assert.equal(approve!.decision, Decision.APPROVE);
  assert.deepEqual(approve!.reasons, [], "an approval without explain has none");
  assert.ok(explained!.reasons.length > 0, "an approval with explain has reasons");
  for (const r of decline!.reasons)
    assert.ok(card(CHAMPION).features.includes(r.feature), `${r.feature} is a feature of the model`);
});

test("each decision gives the monitor a record, with the row's trace, segment and imputed features", async () => {
  const { client, records } = await router({ [CHAMPION]: onnx(CHAMPION) });
  const rows = featureRows(3);
  rows[0] = {
    ...rows[0],
    traceId: "a".repeat(32),
    segment: { age_band: "30-39" },
    imputed: ["limit_bal"],
    replay: create(ReplayInputsSchema, { inputs: Uint8Array.of(0x62, 0x03, 0x0a, 0x01, 0x41) }),
  };
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows });
  assert.equal(records.length, 3);
  records.forEach((r, i) => {
    const d = res.decisions[i]!;
    assert.equal(r.requestId, d.requestId);
    assert.equal(r.model, MODEL);
    assert.equal(r.modelVersion, CHAMPION);
    assert.equal(r.score, d.score);
    assert.equal(r.decision, d.decision);
    assert.equal(r.route, Route.PRIMARY);
    assert.equal(r.degraded, false);
    assert.equal(r.featureSpecHash, SPEC_HASH);
    assert.deepEqual(r.reasons, d.reasons);
    assert.ok(typeof r.latencyMs === "number" && r.latencyMs >= 0);
    assert.ok(r.decidedAt, "decidedAt is set");
  });
  assert.equal(records[0]!.traceId, "a".repeat(32), "a row keeps the trace of its own public call");
  assert.deepEqual(records[0]!.segment, { age_band: "30-39" });
  assert.deepEqual(records[0]!.imputed, ["limit_bal"]);
  assert.deepEqual(
    records[0]!.inputs,
    Uint8Array.of(0x62, 0x03, 0x0a, 0x01, 0x41),
    "the non-sensitive inputs for drift: the feature service's encoded audit map, as it came",
  );
  assert.deepEqual(res.decisions[0]!.imputedFeatures, ["limit_bal"]);
  assert.equal(records[1]!.traceId, "", "no row trace and no active span: no trace id");
});

test("a call without rows gets no decisions and calls no worker", async () => {
  const { client, calls, records } = await router({ [CHAMPION]: onnx(CHAMPION) });
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows: [] });
  assert.deepEqual(res.decisions, []);
  assert.deepEqual(calls, []);
  assert.deepEqual(records, []);
});

test("a canary: rows split by sticky assignment, scored per arm, answered in row order with route CANARY", async () => {
  const champions = new ChampionTable();
  champions.want(MODEL, CHAMPION);
  champions.wantCanary(MODEL, { version: "4", percent: 30 });
  await champions.reconcile(async () => true);
  const constant = (x: number) => (_m: Float32Array, rows: number) => new Float32Array(rows).fill(x);
  const audited: AuditRecordInit[] = [];
  const audit = { record: (_m: string, records: AuditRecordInit[]) => void audited.push(...records) };
  const { client, calls, records } = await router(
    { [CHAMPION]: constant(0.1), "4": constant(0.2) },
    { champions, audit },
  );
  const rows = featureRows(40).map((r, i) => ({ ...r, entityId: i % 2 ? `E-${i}` : "" }));
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows });
  const toCanary = rows.map((r) => inCanary(MODEL, { entityId: r.entityId, requestId: r.requestId! }, 30));
  assert.ok(toCanary.some((x) => x) && toCanary.some((x) => !x), "both arms have rows");
  res.decisions.forEach((d, i) => {
    assert.equal(d.requestId, `r-${i}`, "row order kept");
    assert.deepEqual(
      [d.modelVersion, d.route, d.score, d.degraded],
      toCanary[i] ? ["4", Route.CANARY, Math.fround(0.2), false] : [CHAMPION, Route.PRIMARY, Math.fround(0.1), false],
    );
  });
  assert.deepEqual(
    calls.map((c) => [c.version, c.rows]).sort(),
    [
      [CHAMPION, toCanary.filter((x) => !x).length],
      ["4", toCanary.filter((x) => x).length],
    ].sort(),
    "one ModelInfer per arm",
  );
  assert.equal(records.filter((r) => r.route === Route.CANARY).length, toCanary.filter((x) => x).length);
  assert.equal(
    audited.filter((r) => (r.assignment as Assignment) === Assignment.CANARY).length,
    toCanary.filter((x) => x).length,
    "the audit records say which arm",
  );
});

test("light → heavy: the light model decides the rows it scores outside the band, the champion the rest", async () => {
  const rows = featureRows(40);
  const light = await onnx(LIGHT)(Float32Array.from(rows.flatMap((r) => r.features!)), rows.length);
  const heavy = await onnx(CHAMPION)(Float32Array.from(rows.flatMap((r) => r.features!)), rows.length);
  const sorted = [...light].sort((a, b) => a - b);
  const band = { lightVersion: LIGHT, low: sorted[12]!, high: sorted[28]! };
  const inBand = [...light].map((s) => s >= band.low && s < band.high);
  const { client, calls, records } = await router(
    { [CHAMPION]: onnx(CHAMPION), [LIGHT]: onnx(LIGHT) },
    { lightFirst: (m) => (m === MODEL ? band : undefined) },
  );
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows });
  assert.deepEqual(calls, [
    { version: LIGHT, rows: 40 },
    { version: CHAMPION, rows: inBand.filter((x) => x).length },
  ]);
  res.decisions.forEach((d, i) => {
    assert.equal(d.requestId, `r-${i}`, "row order kept");
    const [version, score] = inBand[i] ? [CHAMPION, heavy[i]!] : [LIGHT, light[i]!];
    assert.deepEqual([d.modelVersion, d.score, d.route, d.degraded], [version, score, Route.PRIMARY, false]);
    assert.equal(d.decision, decide(score, card(version).thresholds), "decided with the card of the model that scored");
  });
  assert.deepEqual(
    records.map((r) => r.modelVersion).sort(),
    res.decisions.map((d) => d.modelVersion).sort(),
    "the monitor hears which model decided",
  );
});

test("light → heavy: a light model that cannot answer sends every row to the champion, nothing fails", async () => {
  const band = { lightVersion: LIGHT, low: 0.2, high: 0.4 };
  const { client, calls } = await router(
    { [CHAMPION]: onnx(CHAMPION), [LIGHT]: fail(Code.Unavailable) },
    { lightFirst: () => band },
  );
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows: featureRows(10) });
  assert.deepEqual(calls, [
    { version: LIGHT, rows: 10 },
    { version: CHAMPION, rows: 10 },
  ]);
  assert.ok(res.decisions.every((d) => d.modelVersion === CHAMPION && d.route === Route.PRIMARY && !d.degraded));
});

test("a segment rule: its rows scored by its version, route PRIMARY, audit SEGMENT and the rule named in both records", async () => {
  const constant = (x: number) => (_m: Float32Array, rows: number) => new Float32Array(rows).fill(x);
  const audited: AuditRecordInit[] = [];
  const audit = { record: (_m: string, records: AuditRecordInit[]) => void audited.push(...records) };
  const branch = { name: "branch", version: "4", where: "label.channel=branch", ready: true };
  const segments = { rulesFor: () => [{ ...branch, conditions: parseWhere(branch.where) }] };
  const { client, records } = await router({ [CHAMPION]: constant(0.1), "4": constant(0.2) }, { audit, segments });
  const rows = featureRows(10).map((r, i): RowInit => ({ ...r, labels: i % 2 ? { channel: "branch" } : {} }));
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows });
  res.decisions.forEach((d, i) =>
    assert.deepEqual([d.requestId, d.modelVersion, d.route], [`r-${i}`, i % 2 ? "4" : CHAMPION, Route.PRIMARY]),
  );
  const byId = (id: string) => records.find((r) => r.requestId === id)!;
  assert.equal(byId("r-1").segmentRule, "branch");
  assert.equal(byId("r-0").segmentRule ?? "", "");
  const a1 = audited.find((r) => r.requestId === "r-1")!;
  assert.deepEqual([a1.assignment, a1.segmentRule, a1.labels], [Assignment.SEGMENT, "branch", { channel: "branch" }]);
  assert.equal(audited.find((r) => r.requestId === "r-0")!.assignment, Assignment.CHAMPION);
});

test("a stand-in (the policy's champion cannot serve) answers, degraded", async () => {
  const champions = new ChampionTable();
  champions.want(MODEL, "9");
  champions.standIn(MODEL, CHAMPION, "version 9 is not in the model repository");
  const { client } = await router({ [CHAMPION]: onnx(CHAMPION) }, { champions });
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows: featureRows(4) });
  for (const d of res.decisions)
    assert.deepEqual([d.modelVersion, d.route, d.degraded], [CHAMPION, Route.PRIMARY, true]);
});

test("each decision's audit record is handed over before the answer: vector, thresholds, decision and reasons", async () => {
  const audited: { model: string; records: AuditRecordInit[] }[] = [];
  const audit = { record: (model: string, records: AuditRecordInit[]) => void audited.push({ model, records }) };
  const { client } = await router({ [CHAMPION]: onnx(CHAMPION) }, { audit });
  const rows = featureRows(3).map((r) => ({ ...r, explain: true, tenantId: "t1", segment: { age_band: "25-34" } }));
  const res = await client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows });
  assert.equal(audited.length, 1, "one append per Route call");
  assert.equal(audited[0]!.model, MODEL);
  audited[0]!.records.forEach((r, i) => {
    const d = res.decisions[i]!;
    assert.equal(r.requestId, d.requestId);
    assert.equal(r.tenantId, "t1");
    assert.deepEqual(
      Array.from(r.vector),
      [...rows[i]!.features!].map((v) => Math.fround(v)),
    );
    assert.deepEqual(r.thresholds, card(CHAMPION).thresholds);
    assert.equal(r.score, d.score);
    assert.equal(r.decision, d.decision);
    assert.deepEqual(
      r.reasons.map((x) => x.code),
      d.reasons.map((x) => x.code),
    );
    assert.deepEqual(r.segment, { age_band: "25-34" });
    assert.equal(r.featureSpecHash, SPEC_HASH);
  });
});

test("a decision that cannot be recorded is refused with UNAVAILABLE and not sent to the monitor", async () => {
  const audit = {
    record: () => {
      throw new AuditUnavailableError("the decision could not be recorded: disk full");
    },
  };
  const { client, records } = await router({ [CHAMPION]: onnx(CHAMPION) }, { audit });
  await assert.rejects(client.route({ model: MODEL, featureSpecHash: SPEC_HASH, rows: featureRows(2) }), (err) => {
    assert.ok(codeOf(Code.Unavailable)(err));
    assert.match((err as ConnectError).rawMessage, /could not be recorded/);
    return true;
  });
  assert.deepEqual(records, []);
});
