import { test } from "node:test";
import assert from "node:assert/strict";
import { LoadHealth } from "../../../services/model-worker/load-health.js";

test("a refusal saturates the worker at once; it recovers only after the hold and once the queues drained", () => {
  const h = new LoadHealth({ holdMs: 250, resumeBelowFill: 0.5 });
  assert.equal(h.isSaturated(), false);
  assert.equal(h.evaluate(0, 1), false, "a full queue alone does not flip health: only a refusal does");
  assert.equal(h.refused(1000), true);
  assert.equal(h.refused(1010), false, "already saturated");
  assert.equal(h.evaluate(1200, 0), false, "still within the hold after the last refusal");
  assert.equal(h.evaluate(1300, 0.6), false, "hold over, but the queue is still more than half full");
  assert.equal(h.isSaturated(), true);
  assert.equal(h.evaluate(1300, 0.4), true, "recovered");
  assert.equal(h.isSaturated(), false);
  assert.equal(h.evaluate(1400, 0), false, "recovery is reported once");
});

test("a refusal during the hold extends it", () => {
  const h = new LoadHealth({ holdMs: 100 });
  h.refused(0);
  h.refused(90);
  assert.equal(h.evaluate(150, 0), false);
  assert.equal(h.evaluate(190, 0), true);
});
