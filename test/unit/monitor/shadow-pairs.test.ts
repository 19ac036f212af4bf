import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Registry } from "prom-client";
import { DecisionRecordSchema } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { registerShadowGauges, ShadowPairs } from "../../../services/monitor/shadow-pairs.js";

const pair = (shadow: string, score: number, decision: Decision, championScore: number, championDecision: Decision) =>
  create(DecisionRecordSchema, {
    model: "m",
    modelVersion: shadow,
    score,
    decision,
    shadowOf: { championVersion: "3", championScore, championDecision },
  });

test("aggregates per (model, champion, shadow): pairs, mean |score diff|, agreement rate", () => {
  const p = new ShadowPairs();
  assert.equal(p.add(pair("4", 0.2, Decision.APPROVE, 0.1, Decision.APPROVE)), true);
  p.add(pair("4", 0.5, Decision.REVIEW, 0.8, Decision.DECLINE));
  p.add(pair("4", 0.9, Decision.DECLINE, 0.9, Decision.DECLINE));
  p.add(pair("4", 0.4, Decision.REVIEW, 0.5, Decision.REVIEW));
  p.add(pair("2", 0.1, Decision.APPROVE, 0.6, Decision.REVIEW));
  const [four, two] = p.list();
  assert.deepEqual([four!.model, four!.championVersion, four!.shadowVersion, four!.pairs], ["m", "3", "4", 4]);
  assert.ok(Math.abs(four!.meanAbsScoreDiff - (0.1 + 0.3 + 0 + 0.1) / 4) < 1e-9);
  assert.equal(four!.agreementRate, 0.75);
  assert.deepEqual([two!.shadowVersion, two!.pairs, two!.agreementRate], ["2", 1, 0]);
  assert.ok(Math.abs(two!.meanAbsScoreDiff - 0.5) < 1e-9);
});

test("a record without shadow_of is no pair and is not counted", () => {
  const p = new ShadowPairs();
  assert.equal(p.add(create(DecisionRecordSchema, { model: "m", modelVersion: "3", score: 0.4 })), false);
  assert.deepEqual(p.list(), []);
});

test("the gauges show each aggregate on /metrics", async () => {
  const p = new ShadowPairs();
  p.add(pair("4", 0.2, Decision.APPROVE, 0.1, Decision.APPROVE));
  p.add(pair("4", 0.6, Decision.REVIEW, 0.1, Decision.APPROVE));
  const registry = new Registry();
  registerShadowGauges(registry, p);
  const text = await registry.metrics();
  assert.match(text, /scoremesh_shadow_pairs\{model="m",champion="3",shadow="4"\} 2/);
  assert.match(text, /scoremesh_shadow_decision_agreement\{model="m",champion="3",shadow="4"\} 0.5/);
  assert.match(text, /scoremesh_shadow_mean_abs_score_diff\{model="m",champion="3",shadow="4"\} 0.3/);
});
