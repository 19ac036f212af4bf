import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { DecisionRecordSchema } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { ServingPolicySchema, ShadowSchema } from "../../../../gen/scoremesh/policy/v1/policy_pb.js";
import { FeatureRowSchema } from "../../../../gen/scoremesh/router/v1/router_pb.js";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../../../deploy/local/mesh.js";
import { decide, floatBytes, ModelRepository } from "../../../../services/lib/model/index.js";
import { CardCache } from "../../../../services/router/card-cache.js";
import { ShadowScorer } from "../../../../services/router/shadow/shadow-scorer.js";
import type { WorkerEndpoint } from "../../../../services/router/workers/worker-pool.js";

const MODEL = "credit-default";
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const cards = new CardCache(repo);
const card = repo.card(MODEL, "4");
const COLS = card.features.length;

/** A fake worker: ModelInfer answers `answer(rows)` (scores), or waits for `gate` first. */
function worker(answer: (rows: number) => number[], gate?: Promise<void>) {
  const calls: { version: string; rows: number }[] = [];
  const ep = {
    address: "fake-worker",
    client: {
      modelInfer: async (req: { modelVersion: string; inputs: { shape: bigint[] }[] }) => {
        const rows = Number(req.inputs[0]!.shape[0]);
        calls.push({ version: req.modelVersion, rows });
        await gate;
        return { rawOutputContents: [floatBytes(Float32Array.from(answer(rows)))] };
      },
    },
  } as unknown as WorkerEndpoint;
  return { pool: { candidates: () => [ep] }, calls };
}

function scorer(w: ReturnType<typeof worker>, maxInFlight = 8) {
  const records: MessageInitShape<typeof DecisionRecordSchema>[] = [];
  const lines: string[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
  const s = new ShadowScorer({
    deps: { workers: w.pool, cards: (m, v) => cards.card(m, v), monitor: { enqueue: (r) => void records.push(...r) } },
    timeoutMs: 500,
    maxInFlight,
    log: pino({ level: "info" }, sink),
  });
  s.follow(
    create(ServingPolicySchema, {
      model: MODEL,
      championVersion: "3",
      shadow: create(ShadowSchema, { version: "4", sampleRate: 1 }),
    }),
  );
  return { s, records, lines };
}

const answer = (n: number) => ({
  model: MODEL,
  version: "3",
  featureSpecHash: card.feature_spec_hash,
  matrix: new Float32Array(n * COLS),
  decided: Array.from({ length: n }, (_, i) => ({
    row: create(FeatureRowSchema, { requestId: `r-${i}`, entityId: `E-${i}` }),
    score: 0.1,
    decision: Decision.APPROVE,
    reasons: [],
  })),
});
const settle = () => new Promise((r) => setTimeout(r, 20));

test("offer returns before the shadow is called; each sampled row becomes a pair record for the monitor", async () => {
  const w = worker((rows) => Array.from({ length: rows }, (_, i) => (i === 0 ? 0.1 : 0.95)));
  const { s, records } = scorer(w);
  s.offer(answer(3));
  assert.equal(w.calls.length, 0, "nothing is called on the hot path");
  await settle();
  assert.deepEqual(w.calls, [{ version: "4", rows: 3 }]);
  assert.equal(records.length, 3);
  const r = records[1]!;
  assert.deepEqual(
    [r.model, r.modelVersion, r.requestId, r.decision],
    [MODEL, "4", "r-1", decide(0.95, card.thresholds)],
  );
  assert.deepEqual(r.shadowOf, { championVersion: "3", championScore: 0.1, championDecision: Decision.APPROVE });
  assert.ok(Math.abs(r.score! - 0.95) < 1e-6);
  assert.equal(s.scored, 3);
});

test("at most maxInFlight shadow calls at once: the rest are skipped and counted, nothing queues", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const w = worker((rows) => new Array<number>(rows).fill(0.5), gate);
  const { s, records } = scorer(w, 2);
  for (let i = 0; i < 5; i++) s.offer(answer(4));
  await settle();
  assert.equal(w.calls.length, 2);
  assert.deepEqual([s.inFlight, s.skipped], [2, 12]);
  release();
  await settle();
  assert.deepEqual([s.inFlight, records.length], [0, 8]);
});

test("failures are counted, logged once per cause, and never thrown", async () => {
  const w = worker(() => {
    throw new ConnectError("worker away", Code.Unavailable);
  });
  const { s, records, lines } = scorer(w);
  for (let i = 0; i < 4; i++) s.offer(answer(2));
  await settle();
  assert.deepEqual([s.failed, records.length], [4, 0]);
  assert.equal(lines.filter((l) => l.includes("shadow scoring failed")).length, 1);
});

test("no shadow, the shadow is the version that answered, or --off: nothing is scored", async () => {
  const w = worker((rows) => new Array<number>(rows).fill(0.5));
  const { s } = scorer(w);
  s.offer({ ...answer(2), version: "4" });
  s.follow(create(ServingPolicySchema, { model: MODEL, championVersion: "3" }));
  s.offer(answer(2));
  await settle();
  assert.deepEqual([w.calls.length, s.shadow(MODEL)], [0, undefined]);
});

test("a new shadow version is adopted only once the workers have it ready; a rate change or --off at once", async () => {
  const w = worker((rows) => new Array<number>(rows).fill(0.5));
  let ready = false;
  const s = new ShadowScorer({
    deps: { workers: w.pool, cards: (m, v) => cards.card(m, v), monitor: { enqueue: () => {} } },
    ...{ timeoutMs: 500, maxInFlight: 8, log: pino({ level: "silent" }), ready: () => Promise.resolve(ready) },
  });
  const policy = (sampleRate?: number) =>
    create(ServingPolicySchema, {
      model: MODEL,
      championVersion: "3",
      ...(sampleRate ? { shadow: create(ShadowSchema, { version: "4", sampleRate }) } : {}),
    });
  s.follow(policy(1));
  await s.adopt();
  assert.equal(s.shadow(MODEL), undefined, "not ready: not adopted");
  ready = true;
  await s.adopt();
  assert.deepEqual(s.shadow(MODEL), { version: "4", sampleRate: 1 });
  ready = false;
  s.follow(policy(0.5));
  assert.deepEqual(s.shadow(MODEL), { version: "4", sampleRate: 0.5 }, "same version: the rate changes at once");
  s.follow(policy());
  assert.equal(s.shadow(MODEL), undefined);
});
