import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { ConnectError, Code } from "@connectrpc/connect";
import { Decision, Route, type ScoreResponse } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import {
  ModelRepository,
  parseSnapshot,
  type EntityValues,
  buildVector,
  decide,
  seedChampion,
} from "../../services/lib/model/index.js";
import { fieldViolations } from "../../services/lib/rpc/index.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { creditDefaultEntityId } from "../../tools/trainer/credit-default-entities.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = repo.spec(MODEL);
/** The champion a fresh mesh starts with (the card that says seed_champion). */
const SEED = seedChampion(repo.versions(MODEL).map((v) => repo.card(MODEL, v)))!;
/** Another version to switch to and back. */
const OTHER = SEED === "1" ? "2" : "1";
const sessions = new Map<string, ort.InferenceSession>();
const entityDir = join(PROJECT_ROOT, "models", MODEL, "entities");
const entityFile = readdirSync(entityDir)
  .filter((f) => f.startsWith("snapshot-"))
  .sort()
  .pop()!;
/** The shipped entity snapshot: data row i is entity C + i zero-padded (credit-default-entities.ts). */
const entities = parseSnapshot(readFileSync(join(entityDir, entityFile), "utf8"), {
  source: entityFile,
  spec,
}).entities;
const ENTITY_FEATURES = spec.features.filter((f) => f.source.kind === "entity").map((f) => f.name);

/** The score an in-process ONNX Runtime session gives for the same inputs (and entity): the reference for the mesh. */
async function expectedScore(version: string, inputs: Record<string, number>, entity?: EntityValues): Promise<number> {
  let s = sessions.get(version);
  if (!s) {
    s = await ort.InferenceSession.create(repo.onnxPath(MODEL, version));
    sessions.set(version, s);
  }
  const { vector } = buildVector(spec, inputs, entity);
  const out = await s.run({ features: new ort.Tensor("float32", vector, [1, vector.length]) });
  return (out["probability"]!.data as Float32Array)[0]!;
}

/** Checks an answer; `entity` is the request's entity in the snapshot (none: its entity features are imputed). */
async function checkAnswer(
  res: ScoreResponse,
  inputs: Record<string, number>,
  version: string,
  requestId?: string,
  entity?: EntityValues,
) {
  assert.equal(res.model, MODEL);
  assert.equal(res.modelVersion, version);
  assert.ok(res.score >= 0 && res.score <= 1, `score ${res.score} in [0, 1]`);
  assert.ok(
    Math.abs(res.score - (await expectedScore(version, inputs, entity))) < 1e-6,
    "score equals an in-process ONNX Runtime run",
  );
  assert.deepEqual(res.imputedFeatures, entity ? [] : ENTITY_FEATURES, "imputed features");
  assert.equal(
    res.decision,
    decide(res.score, repo.card(MODEL, version).thresholds),
    "decision follows the card's thresholds",
  );
  assert.equal(res.route, Route.PRIMARY);
  assert.equal(res.degraded, false);
  assert.match(res.traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(res.traceId, "0".repeat(32));
  if (requestId) assert.equal(res.requestId, requestId);
  else assert.match(res.requestId, /^[0-9a-f-]{36}$/, "a request id is generated when none is sent");
}

describe("the mesh end to end", () => {
  let fx: MeshFixture;
  let scored = 0;
  const rows = creditRows(300);

  before(async () => {
    fx = await startMeshFixture();
  });
  after(async () => {
    await fx?.close();
    for (const s of sessions.values()) await s.release();
  });

  test("a fresh mesh seeds the serving policy with the version whose card says seed_champion", async () => {
    const r = await fx.meshctl("policy", MODEL, "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { championVersion: string }).championVersion, SEED);
  });

  test("200 rows of the credit data through the public gRPC API", async () => {
    const decisions = new Set<Decision>();
    for (let i = 0; i < 200; i++) {
      const inputs = rows[i]!;
      const requestId = i % 2 === 0 ? `grpc-${i}` : "";
      // Row i of the data is entity C0000i; every tenth request names an entity the snapshot does not know.
      const entityId = i % 10 === 9 ? `e-${i}` : creditDefaultEntityId(i);
      const res = await fx.scoring.score({ model: MODEL, requestId, entityId, inputs }, { timeoutMs: 5000 });
      await checkAnswer(res, inputs, SEED, requestId || undefined, entities.get(entityId));
      decisions.add(res.decision);
      scored++;
    }
    assert.deepEqual(
      [...decisions].sort(),
      [Decision.APPROVE, Decision.REVIEW, Decision.DECLINE],
      "real data reaches all three decisions",
    );
  });

  test("20 rows through HTTP with Connect JSON (what curl sends)", async () => {
    for (let i = 200; i < 220; i++) {
      const inputs = rows[i]!;
      const res = await fetch(`${fx.httpBase}/scoremesh.scoring.v1.ScoringService/Score`, {
        method: "POST",
        headers: fx.httpHeaders,
        body: JSON.stringify({ model: MODEL, request_id: `http-${i}`, inputs }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as Record<string, unknown>;
      assert.match(
        String(body["decision"]),
        /^DECISION_(APPROVE|REVIEW|DECLINE)$/,
        "enums travel as their proto names",
      );
      await checkAnswer(
        {
          model: body["model"],
          modelVersion: body["modelVersion"],
          score: body["score"],
          decision: Decision[String(body["decision"]).replace("DECISION_", "") as keyof typeof Decision],
          route: Route[String(body["route"]).replace("ROUTE_", "") as keyof typeof Route],
          degraded: body["degraded"] ?? false,
          traceId: body["traceId"],
          requestId: body["requestId"],
          imputedFeatures: body["imputedFeatures"] ?? [],
        } as ScoreResponse,
        inputs,
        SEED,
        `http-${i}`,
      );
      scored++;
    }
  });

  test("ScoreBatch answers every row, in order, as single calls do", async () => {
    const batch = rows.slice(220, 270);
    const res = await fx.scoring.scoreBatch(
      { requests: batch.map((inputs, i) => ({ model: MODEL, requestId: `batch-${i}`, inputs })) },
      { timeoutMs: 5000 },
    );
    assert.equal(res.responses.length, batch.length);
    for (let i = 0; i < batch.length; i++) await checkAnswer(res.responses[i]!, batch[i]!, SEED, `batch-${i}`);
    scored += batch.length;
  });

  test("the monitor counted every decision, and the audit log carries each call's trace id", async () => {
    let total = 0n;
    for (let i = 0; i < 100 && total < BigInt(scored); i++) {
      total = (await fx.monitor.getStats({}, { timeoutMs: 2000 })).decisionsTotal;
      if (total < BigInt(scored)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(total, BigInt(scored));
    const stats = await fx.monitor.getStats({});
    const v1 = stats.versions.find((v) => v.modelVersion === SEED);
    assert.equal(v1?.decisions, BigInt(scored));
    assert.equal(v1.approve + v1.review + v1.decline, BigInt(scored));
    const metrics = await (await fetch(`http://${fx.mesh.env["MONITOR_HTTP_ADDR"]}/metrics`)).text();
    const counted = [
      ...metrics.matchAll(new RegExp(`^scoremesh_decisions_total\\{[^}]*version="${SEED}"[^}]*\\} (\\d+)$`, "gm")),
    ].reduce((s, m) => s + Number(m[1]), 0);
    assert.equal(counted, scored);
    const page = await (await fetch(`http://${fx.mesh.env["MONITOR_HTTP_ADDR"]}/table`)).text();
    assert.match(page, new RegExp(`Decisions: <b>${scored}</b>`));

    const res = await fx.scoring.score({ model: MODEL, requestId: "traced-1", inputs: rows[0]! });
    scored++;
    const auditFile = fx.mesh.env["MONITOR_AUDIT_LOG"]!;
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !line; i++) {
      line = readFileSync(auditFile, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((r) => r["requestId"] === "traced-1");
      if (!line) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(line, "the decision is in the audit log");
    assert.equal(line["traceId"], res.traceId, "router and edge share the call's trace");
    assert.equal(line["inputs"], undefined, "no raw inputs in the audit log");
  });

  test("64 concurrent calls, batched across the hops, each keep their own trace id in the audit log", async () => {
    const answers = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        fx.scoring.score({ model: MODEL, requestId: `concurrent-${i}`, inputs: rows[i]! }, { timeoutMs: 5000 }),
      ),
    );
    scored += answers.length;
    assert.equal(new Set(answers.map((a) => a.traceId)).size, 64, "one trace per public call");
    const auditFile = fx.mesh.env["MONITOR_AUDIT_LOG"]!;
    let logged = new Map<string, unknown>();
    for (let i = 0; i < 50 && logged.size < 64; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      logged = new Map(
        readFileSync(auditFile, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .filter((r) => String(r["requestId"]).startsWith("concurrent-"))
          .map((r) => [String(r["requestId"]), r["traceId"]]),
      );
    }
    for (const a of answers)
      assert.equal(logged.get(a.requestId), a.traceId, `${a.requestId}: the audit log has the call's own trace id`);
  });

  test("the monitor keeps every REVIEW decision in its review queue; meshctl reviews lists them", async () => {
    const stats = await fx.monitor.getStats({}, { timeoutMs: 2000 });
    assert.equal(stats.decisionsTotal, BigInt(scored), "every decision so far is recorded");
    const reviewed = stats.versions.reduce((n, v) => n + v.review, 0n);
    assert.ok(reviewed > 0n, "the credit data reached review");
    const q = await fx.monitor.listReviews({ pageSize: 1000 }, { timeoutMs: 2000 });
    assert.equal(q.total, reviewed, "the queue's total is the monitor's review count");
    assert.equal(q.queued, reviewed, "under the bound, every review case is held");
    assert.equal(BigInt(q.cases.length), reviewed);
    for (const c of q.cases) {
      assert.equal(c.decision, Decision.REVIEW);
      assert.equal(c.model, MODEL);
      assert.match(c.traceId, /^[0-9a-f]{32}$/);
      assert.deepEqual([c.imputed, c.segment], [[], {}], "no imputed features or segments in a case");
    }
    const [r, few] = await Promise.all([
      fx.meshctl("reviews", "--limit", "1000"),
      fx.meshctl("reviews", "--limit", "2"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(
      lines[0]!,
      new RegExp(
        `^review cases: ${reviewed} shown, ${reviewed} held by the monitor, ${reviewed} review decisions since it started$`,
      ),
    );
    assert.deepEqual(
      q.reviewCases.map((c) => c.decision?.requestId).sort(),
      q.cases.map((c) => c.requestId).sort(),
      "every case is durable too",
    );
    assert.deepEqual(
      lines.slice(1).map((l) => l.trim().split(/\s+/)[1]),
      q.reviewCases.map((c) => c.decision?.requestId),
      "meshctl lists the monitor's durable cases, oldest first",
    );
    assert.ok(
      lines.slice(1).every((l) => / age \d+[smhd] {2}OPEN {2}/.test(l)),
      "with their age and state",
    );
    assert.equal(few.stdout.trim().split("\n").length, 3, "--limit bounds the list");
    const page = await (await fetch(`http://${fx.mesh.env["MONITOR_HTTP_ADDR"]}/table`)).text();
    assert.match(page, new RegExp(`Review queue: <b>${reviewed}</b>`));
    console.log(`# review queue: ${reviewed} REVIEW decisions of ${scored}, all listed by meshctl reviews`);
  });

  test("bad inputs get INVALID_ARGUMENT listing every offending field", async () => {
    const good = rows[0]!;
    const bad: Record<string, unknown> = {
      ...good,
      AGE: 300,
      PAY_0: 1.5,
      EXTRA: 1,
      LIMIT_BAL: "lots",
      BILL_AMT1: Number.NaN,
    };
    delete bad["PAY_AMT6"];
    const err = await fx.scoring.score({ model: MODEL, inputs: bad as never }, { timeoutMs: 5000 }).then(
      () => assert.fail("accepted bad inputs"),
      (e: unknown) => ConnectError.from(e),
    );
    assert.equal(err.code, Code.InvalidArgument);
    const v = Object.fromEntries(fieldViolations(err).map((x) => [x.field, x.reason]));
    assert.deepEqual(v, {
      "inputs.AGE": "OUT_OF_RANGE",
      "inputs.PAY_0": "NOT_INTEGER",
      "inputs.EXTRA": "UNKNOWN_FIELD",
      "inputs.LIMIT_BAL": "WRONG_TYPE",
      "inputs.BILL_AMT1": "NOT_FINITE",
      "inputs.PAY_AMT6": "REQUIRED",
    });

    const infinite = await fx.scoring
      .score({ model: MODEL, inputs: { ...good, PAY_AMT1: Number.POSITIVE_INFINITY } })
      .catch((e: unknown) => ConnectError.from(e));
    assert.ok(infinite instanceof ConnectError);
    assert.deepEqual(
      fieldViolations(infinite).map((x) => [x.field, x.reason]),
      [["inputs.PAY_AMT1", "NOT_FINITE"]],
    );

    const unknownModel = await fx.scoring
      .score({ model: "nope", inputs: good })
      .catch((e: unknown) => ConnectError.from(e));
    assert.ok(unknownModel instanceof ConnectError);
    assert.deepEqual(
      fieldViolations(unknownModel).map((x) => [x.field, x.reason]),
      [["model", "UNKNOWN_MODEL"]],
    );

    const oversized = await fx.scoring
      .score({ model: MODEL, inputs: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, i])) })
      .catch((e: unknown) => ConnectError.from(e));
    assert.ok(oversized instanceof ConnectError);
    assert.equal(oversized.code, Code.InvalidArgument);
    assert.deepEqual(
      fieldViolations(oversized).map((x) => [x.field, x.reason]),
      [["inputs", "TOO_MANY_FIELDS"]],
    );

    const batch = await fx.scoring
      .scoreBatch({
        requests: [
          { model: MODEL, inputs: good },
          { model: MODEL, inputs: { ...good, SEX: 7 } },
        ],
      })
      .catch((e: unknown) => ConnectError.from(e));
    assert.ok(batch instanceof ConnectError);
    assert.deepEqual(
      fieldViolations(batch).map((x) => [x.field, x.reason]),
      [["requests[1].inputs.SEX", "OUT_OF_RANGE"]],
    );

    const tooMany = await fx.scoring
      .scoreBatch({ requests: Array.from({ length: 257 }, () => ({ model: MODEL, inputs: good })) })
      .catch((e: unknown) => ConnectError.from(e));
    assert.ok(tooMany instanceof ConnectError);
    assert.deepEqual(
      fieldViolations(tooMany).map((x) => [x.field, x.reason]),
      [["requests", "TOO_MANY_ROWS"]],
    );

    // Over HTTP the same violations come back as Connect JSON error details.
    const res = await fetch(`${fx.httpBase}/scoremesh.scoring.v1.ScoringService/Score`, {
      method: "POST",
      headers: fx.httpHeaders,
      body: JSON.stringify({ model: MODEL, inputs: { ...good, EDUCATION: "2" } }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as {
      code: string;
      details: { type: string; debug: { fieldViolations: { field: string; reason: string }[] } }[];
    };
    assert.equal(body.code, "invalid_argument");
    assert.equal(body.details[0]?.type, "google.rpc.BadRequest");
    assert.deepEqual(
      body.details[0]?.debug.fieldViolations.map((x) => [x.field, x.reason]),
      [["inputs.EDUCATION", "WRONG_TYPE"]],
    );

    const garbage = await fetch(`${fx.httpBase}/scoremesh.scoring.v1.ScoringService/Score`, {
      method: "POST",
      headers: fx.httpHeaders,
      body: "{not json",
    });
    assert.equal(garbage.status, 400, "unparseable JSON is a client error, not a 500");
  });

  test("switching the champion under load fails no request", async () => {
    const failures: string[] = [];
    const versions: string[] = [];
    let stop = false;
    let i = 0;
    const caller = async () => {
      while (!stop) {
        const inputs = rows[i++ % rows.length]!;
        try {
          const res = await fx.scoring.score({ model: MODEL, inputs }, { timeoutMs: 5000 });
          if (versions.at(-1) !== res.modelVersion) versions.push(res.modelVersion);
          assert.equal(res.decision, decide(res.score, repo.card(MODEL, res.modelVersion).thresholds));
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const callers = Array.from({ length: 8 }, () => caller());
    await new Promise((r) => setTimeout(r, 500));
    const to2 = await fx.meshctl("set-champion", MODEL, OTHER);
    assert.equal(to2.code, 0, to2.stderr);
    await new Promise((r) => setTimeout(r, 1500));
    const to1 = await fx.meshctl("set-champion", MODEL, SEED);
    assert.equal(to1.code, 0, to1.stderr);
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(callers);
    assert.deepEqual(failures, []);
    assert.ok(i > 200, `load kept flowing (${i} calls)`);
    assert.deepEqual(versions, [SEED, OTHER, SEED], `traffic moved to version ${OTHER} and back`);
  });

  test("meshctl refuses a version that is not in the repository", async () => {
    const r = await fx.meshctl("set-champion", MODEL, "99");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /has no version 99/);
  });
});
