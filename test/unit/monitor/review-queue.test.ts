import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DecisionRecordSchema } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision, Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { ReviewQueue } from "../../../services/monitor/review-queue.js";

const rec = (id: string, decision = Decision.REVIEW, model = "m") =>
  create(DecisionRecordSchema, {
    requestId: id,
    traceId: `t-${id}`,
    model,
    modelVersion: "3",
    score: 0.4,
    decision,
    route: Route.FALLBACK_MODEL,
    degraded: true,
    latencyMs: 2,
    decidedAt: timestampFromMs(1_700_000_000_000),
    imputed: ["avg_utilization_6m"],
    segment: { age_band: "30-39" },
    featureSpecHash: "abc",
    reasons: [{ code: "R-PAY_0", feature: "PAY_0", contribution: 0.5 }],
  });

test("keeps only REVIEW decisions, newest first", () => {
  const q = new ReviewQueue({ max: 10 });
  assert.equal(q.offer(rec("a")), true);
  assert.equal(q.offer(rec("b", Decision.APPROVE)), false);
  assert.equal(q.offer(rec("c", Decision.DECLINE)), false);
  q.offer(rec("d"));
  assert.deepEqual(
    q.list({ limit: 10 }).map((c) => c.requestId),
    ["d", "a"],
  );
  assert.equal(q.total, 2);
  assert.equal(q.queued(), 2);
});

test("bounded: the newest N are kept, every review is counted in total", () => {
  const q = new ReviewQueue({ max: 3 });
  for (let i = 0; i < 7; i++) q.offer(rec(`r${i}`));
  assert.deepEqual(
    q.list({ limit: 100 }).map((c) => c.requestId),
    ["r6", "r5", "r4"],
  );
  assert.equal(q.queued(), 3);
  assert.equal(q.total, 7);
  assert.deepEqual(
    q.list({ limit: 2 }).map((c) => c.requestId),
    ["r6", "r5"],
  );
  assert.deepEqual(q.list({ limit: 0 }), []);
});

test("a case keeps what a reviewer needs and no inputs, segments, imputed features or latency", () => {
  const q = new ReviewQueue();
  q.offer(rec("a"));
  const [c] = q.list({ limit: 1 });
  assert.ok(c);
  assert.equal(c.requestId, "a");
  assert.equal(c.traceId, "t-a");
  assert.equal(c.modelVersion, "3");
  assert.equal(c.route, Route.FALLBACK_MODEL);
  assert.equal(c.degraded, true);
  assert.equal(c.reasons[0]?.code, "R-PAY_0");
  assert.equal(c.decidedAt?.seconds, 1_700_000_000n);
  assert.deepEqual([c.latencyMs, c.imputed, c.segment, c.featureSpecHash], [0, [], {}, ""]);
});

test("filters and counts by model", () => {
  const q = new ReviewQueue({ max: 4 });
  q.offer(rec("a1", Decision.REVIEW, "a"));
  q.offer(rec("b1", Decision.REVIEW, "b"));
  q.offer(rec("a2", Decision.REVIEW, "a"));
  assert.deepEqual(
    q.list({ limit: 10, model: "a" }).map((c) => c.requestId),
    ["a2", "a1"],
  );
  assert.equal(q.queued("a"), 2);
  assert.equal(q.totalOf("a"), 2);
  assert.equal(q.totalOf("b"), 1);
  assert.equal(q.totalOf("nope"), 0);
});

test("refuses a size that is not a positive integer", () => {
  assert.throws(() => new ReviewQueue({ max: 0 }), RangeError);
  assert.throws(() => new ReviewQueue({ max: 1.5 }), RangeError);
});
