import { test } from "node:test";
import assert from "node:assert/strict";
import { VersionStatistics } from "../../../services/model-worker/statistics.js";

test("statistics count rows, executions, per-request compute and per-batch-size entries", () => {
  const s = new VersionStatistics();
  s.arrived(1_700_000_000_000);
  s.executed(3, 2, 0.01, 0.02, 0.001);
  s.executed(1, 1, 0.01, 0.02, 0.001);
  s.success.add(0.5, 1);
  const p = s.toProto("m", "1");
  assert.equal(p.inferenceCount, 4n);
  assert.equal(p.executionCount, 2n);
  assert.equal(p.lastInference, 1_700_000_000_000n);
  assert.equal(p.inferenceStats?.computeInfer?.count, 3n, "one compute entry per request");
  assert.deepEqual(
    p.batchStats?.map((b) => b.batchSize),
    [1n, 3n],
  );
  assert.equal(p.inferenceStats?.success?.ns, 500_000n);
});
