import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { DecisionRecordSchema } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision, Route } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { Timeline } from "../../../../services/monitor/dashboard/timeline.js";

const T = { review: 0.3, decline: 0.6 };
const rec = (version: string, score: number, latencyMs: number, degraded = false) =>
  create(DecisionRecordSchema, {
    model: "m",
    modelVersion: version,
    score,
    latencyMs,
    degraded,
    decision: Decision.APPROVE,
    route: Route.PRIMARY,
  });

test("rates per bucket, only complete buckets, empty ones in between, from the first bucket seen", () => {
  const tl = new Timeline(() => T, 1000, 10);
  for (let i = 0; i < 4; i++) tl.add(rec("1", 0.1, 2), 10_000 + i);
  tl.add(rec("1", 0.1, 2, true), 12_500);
  const s = tl.series(13_100);
  assert.deepEqual(s.t, [10_000, 11_000, 12_000]);
  assert.deepEqual(s.requests_per_s, [4, 0, 1]);
  assert.deepEqual(s.degraded_rate, [0, null, 1]);
  assert.equal(tl.series(10_500).t.length, 0, "the current bucket is not complete yet");
  assert.equal(tl.series(100_000).t.length, 10, "at most `length` buckets");
});

test("p50 and p99 per bucket within one log bin (~20 %) of the true values", () => {
  const tl = new Timeline(() => T, 1000, 10);
  for (let i = 1; i <= 100; i++) tl.add(rec("1", 0.1, i), 5_000);
  const s = tl.series(6_000);
  assert.ok(s.p50_ms[0]! >= 50 && s.p50_ms[0]! < 50 * 1.21, `p50 ${s.p50_ms[0]}`);
  assert.ok(s.p99_ms[0]! >= 99 && s.p99_ms[0]! < 99 * 1.21, `p99 ${s.p99_ms[0]}`);
});

test("confidence decay: share in the review band and mean distance from the nearest threshold, per version", () => {
  const tl = new Timeline((_m, v) => (v === "1" ? T : undefined), 1000, 10);
  tl.add(rec("1", 0.35, 1), 0); // in band, 0.05 from review
  tl.add(rec("1", 0.5, 1), 0); // in band, 0.1 from decline
  tl.add(rec("1", 0.1, 1), 0); // approve, 0.2 from review
  tl.add(rec("1", 0.9, 1), 0); // decline, 0.3 from decline
  tl.add(rec("1", 0.45, 1, true), 0); // degraded: not a model score
  tl.add(rec("2", 0.45, 1), 0); // no thresholds known
  const [one, two] = tl.series(1000).versions;
  assert.equal(one!.review_band_share[0], 0.5);
  assert.ok(Math.abs(one!.mean_threshold_distance[0]! - 0.65 / 4) < 1e-12);
  assert.equal(one!.decisions_per_s[0], 5);
  assert.deepEqual(
    [two!.review_band_share[0], two!.mean_threshold_distance[0], two!.decisions_per_s[0]],
    [null, null, 1],
  );
});
