import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { DecisionRecordSchema } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Route } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import {
  ConfidenceDecay,
  DriftWatch,
  referenceReviewShare,
  type DriftRule,
} from "../../../../services/monitor/drift/index.js";
import { CreditStream, MODEL, repo, VERSION } from "./credit-stream.js";

const RULE: DriftRule = { warn: 0.1, alert: 0.25, minSample: 200, windowDecisions: 400, windowMs: 600_000 };
const stream = new CreditStream();
const rows = stream.rows.map((_, i) => i);

function watch(rule = RULE) {
  const clock = { now: Date.UTC(2026, 10, 30) };
  return { w: new DriftWatch(repo, rule, () => clock.now, 0), clock };
}

test("no state below the minimum sample; then ok, then alert with its since; the time window forgets", () => {
  const { w, clock } = watch();
  for (const r of stream.draw(rows, 199, 1)) w.add(r);
  assert.ok(w.driftStates(MODEL).every((s) => s.state === "insufficient" && s.version === VERSION));
  for (const r of stream.draw(rows, 300, 2)) w.add(r);
  const ok = w.driftStates(MODEL).filter((s) => s.state !== "ok");
  assert.deepEqual(ok, [], "a window like the reference reads ok on every feature and window");
  clock.now += 5000;
  const late = stream.where((r) => r["PAY_0"]! >= 2);
  for (const r of stream.draw(late, 400, 3)) w.add(r);
  const pay = w.driftStates(MODEL).find((s) => s.feature === "PAY_0" && s.window === "decisions")!;
  assert.equal(pay.state, "alert");
  assert.equal(pay.since, clock.now, "since: when the state changed");
  clock.now += 11 * 60_000; // past the 10-minute time window
  const later = w.driftStates(MODEL).find((s) => s.feature === "PAY_0" && s.window === "time")!;
  assert.deepEqual([later.state, later.sample], ["insufficient", 0]);
  assert.equal(w.driftStates("other-model").length, 0);
});

test("only model scores count for the score and confidence; inputs count on every route; unknown versions are not watched", () => {
  const { w } = watch();
  const base = stream.record(0);
  w.add(create(DecisionRecordSchema, { ...base, degraded: true, route: Route.RULES }));
  w.add(create(DecisionRecordSchema, { ...base, modelVersion: "404" }));
  const [v] = w.view(MODEL);
  assert.equal(w.view().length, 1);
  const sample = (f: string) => v!.features.find((x) => x.feature === f && x.window === "decisions")!.sample;
  assert.deepEqual([sample("score"), sample("LIMIT_BAL"), sample("age_band")], [0, 1, 1]);
  assert.equal(v!.confidence.decisions.scored, 0);
  assert.ok(!v!.features.some((f) => ["AGE", "SEX", "MARRIAGE"].includes(f.feature)), "no raw protected attribute");
});

test("confidence decay: review-band share and mean distance over the last N and per minute", () => {
  const c = new ConfidenceDecay({ review: 0.3, decline: 0.6 }, 4, 3_600_000);
  const t0 = 100 * 3_600_000;
  for (const s of [0.1, 0.4, 0.5, 0.9]) c.add(s, t0);
  c.add(0.35, t0 + 60_000);
  const last = c.lastScores();
  assert.equal(last.scored, 4);
  assert.equal(last.reviewShare, 3 / 4, "0.4, 0.5, 0.35 of the last four");
  assert.ok(Math.abs(last.meanThresholdDistance! - (0.1 + 0.1 + 0.3 + 0.05) / 4) < 1e-12);
  const { total, series } = c.overTime(t0 + 60_000);
  assert.deepEqual([total.scored, series.length, series[0]!.reviewShare], [5, 2, 0.5]);
  assert.equal(c.overTime(t0 + 3 * 3_600_000).total.scored, 0);
  const share = referenceReviewShare({ edges: [0.3, 0.6], counts: [30, 40, 30] }, { review: 0.3, decline: 0.6 });
  assert.ok(Math.abs(share - 0.4) < 1e-12);
});
