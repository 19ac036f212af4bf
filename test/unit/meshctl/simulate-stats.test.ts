import { test } from "node:test";
import assert from "node:assert/strict";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { SimulationStats } from "../../../tools/meshctl/replay/simulate-stats.js";

const { APPROVE: A, REVIEW: R, DECLINE: D } = Decision;

test("simulation stats: rates, flips and expected defaults among approvals, overall and by segment", () => {
  const s = new SimulationStats();
  const row = (sex: string, tenant: string, b: Decision, bs: number, a: Decision, as: number) =>
    s.add({
      segment: { age_band: "25-34", sex },
      tenant,
      before: { decision: b, score: bs },
      after: { decision: a, score: as },
    });
  row("male", "t1", A, 0.1, A, 0.05);
  row("male", "t1", A, 0.2, R, 0.4);
  row("female", "t2", D, 0.9, A, 0.25);
  row("female", "", R, 0.5, R, 0.45);
  const { overall, segments } = s.report();
  assert.equal(overall.rows, 4);
  assert.deepEqual(overall.before, { approve: 0.5, review: 0.25, decline: 0.25 });
  assert.deepEqual(overall.after, { approve: 0.5, review: 0.5, decline: 0 });
  assert.equal(overall.flipped, 2);
  assert.deepEqual(overall.flips, { "APPROVE→REVIEW": 1, "DECLINE→APPROVE": 1 });
  assert.ok(Math.abs(overall.expectedDefaults.before - 0.3) < 1e-12);
  assert.ok(Math.abs(overall.expectedDefaults.after - 0.3) < 1e-12);
  assert.deepEqual(overall.approvals, { before: 2, after: 2 });
  assert.deepEqual(Object.keys(segments), ["age_band", "sex", "marriage", "tenant"]);
  assert.equal(segments["sex"]!["female"]!.flipped, 1);
  assert.equal(segments["marriage"]!["unknown"]!.rows, 4);
  assert.deepEqual(Object.keys(segments["tenant"]!), ["t1", "t2", "unknown"]);
  assert.equal(segments["tenant"]!["t1"]!.after.review, 0.5);
});
