import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { DecisionRecordSchema } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { DecisionStats } from "../../../services/monitor/stats.js";

const rec = (version: string, decision: Decision, latencyMs: number, score = 0.5) =>
  create(DecisionRecordSchema, { model: "m", modelVersion: version, decision, latencyMs, score });

test("counts per version and decision", () => {
  const s = new DecisionStats();
  s.add(rec("1", Decision.APPROVE, 1, 0.1));
  s.add(rec("1", Decision.DECLINE, 1, 0.9));
  s.add(rec("2", Decision.REVIEW, 1, 0.3));
  assert.equal(s.total, 3);
  const v1 = s.versions.get("m/1")!;
  assert.deepEqual([v1.decisions, v1.approve, v1.review, v1.decline], [2, 1, 0, 1]);
  assert.ok(Math.abs(v1.scoreSum / v1.decisions - 0.5) < 1e-12);
  assert.equal(s.versions.get("m/2")!.review, 1);
});

test("latency percentiles are nearest-rank over a sliding window", () => {
  const s = new DecisionStats(100);
  assert.equal(s.latencyQuantile(0.5), 0);
  for (let i = 1; i <= 100; i++) s.add(rec("1", Decision.APPROVE, i));
  assert.equal(s.latencyQuantile(0.5), 50);
  assert.equal(s.latencyQuantile(0.99), 99);
  assert.equal(s.latencyQuantile(1), 100);
  for (let i = 0; i < 100; i++) s.add(rec("1", Decision.APPROVE, 1000));
  assert.equal(s.latencyQuantile(0.5), 1000, "old latencies leave the window");
});
