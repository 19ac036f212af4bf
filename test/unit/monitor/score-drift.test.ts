import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { DecisionRecordSchema } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { ModelRepository } from "../../../services/lib/model/index.js";
import { ScoreDriftWatch } from "../../../services/monitor/score-drift.js";

const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const reference = repo.card("credit-default", "3").profile!.score;

const record = (score: number, over: Partial<{ route: Route; degraded: boolean; modelVersion: string }> = {}) =>
  create(DecisionRecordSchema, {
    model: "credit-default",
    modelVersion: "3",
    score,
    route: Route.PRIMARY,
    ...over,
  });

/** Scores spread over the reference bins in the reference's own proportions (each bin's midpoint-ish value). */
function likeReference(n: number): number[] {
  const { edges, counts } = reference;
  const total = counts.reduce((s, c) => s + c, 0);
  const out: number[] = [];
  counts.forEach((c, k) => {
    const lo = k === 0 ? 0 : edges[k - 1]!;
    const hi = k === edges.length ? 1 : edges[k]!;
    for (let i = 0; i < Math.round((c / total) * n); i++)
      out.push(lo + ((hi - lo) * (i + 0.5)) / Math.ceil((c / total) * n));
  });
  return out;
}

test("scores like the reference stay ok; the same number all high alert; small windows say nothing", () => {
  const drift = new ScoreDriftWatch(repo, 1000);
  for (const s of likeReference(1000)) drift.add(record(s));
  const [ok] = drift.readings();
  assert.equal(ok?.level, "ok", `PSI ${ok?.psi}`);
  for (let i = 0; i < 1000; i++) drift.add(record(0.9));
  const [high] = drift.readings();
  assert.equal(high?.level, "alert", `PSI ${high?.psi}`);
  assert.equal(high?.sample, 1000, "the window keeps the last 1,000");
  const fresh = new ScoreDriftWatch(repo, 1000);
  for (let i = 0; i < 100; i++) fresh.add(record(0.9));
  assert.equal(fresh.readings()[0]?.level, "insufficient");
});

test("only the version's own model scores count: degraded, fallback and rules answers and unknown versions do not", () => {
  const drift = new ScoreDriftWatch(repo, 1000);
  drift.add(record(0.9, { degraded: true }));
  drift.add(record(0.9, { route: Route.RULES }));
  drift.add(record(0.9, { route: Route.FALLBACK_MODEL }));
  drift.add(record(0.9, { modelVersion: "404" }));
  assert.deepEqual(drift.readings(), []);
  drift.add(record(0.9, { route: Route.CANARY }));
  assert.equal(drift.readings()[0]?.sample, 1);
});
