import { test } from "node:test";
import assert from "node:assert/strict";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { decide, decideDegraded } from "../../../../services/lib/model/decision.js";

const t = { review: 0.25, decline: 0.46 };

test("scores map to decisions at the card's thresholds (lower bound inclusive)", () => {
  assert.equal(decide(0, t), Decision.APPROVE);
  assert.equal(decide(0.2499999, t), Decision.APPROVE);
  assert.equal(decide(0.25, t), Decision.REVIEW);
  assert.equal(decide(0.4599, t), Decision.REVIEW);
  assert.equal(decide(0.46, t), Decision.DECLINE);
  assert.equal(decide(1, t), Decision.DECLINE);
});

test("decisions are monotone in the score", () => {
  let last: Decision = Decision.APPROVE;
  for (let s = 0; s <= 1; s += 0.001) {
    const d = decide(s, t);
    assert.ok(d >= last, `score ${s}`);
    last = d;
  }
});

test("the low-confidence band sends degraded scores near a threshold to review", () => {
  const t = { review: 0.3, decline: 0.6 };
  assert.equal(decideDegraded(0.1, t, 0.02), Decision.APPROVE);
  assert.equal(decideDegraded(0.29, t, 0.02), Decision.REVIEW);
  assert.equal(decideDegraded(0.61, t, 0.02), Decision.REVIEW);
  assert.equal(decideDegraded(0.7, t, 0.02), Decision.DECLINE);
  assert.equal(decideDegraded(0.29, t, 0), Decision.APPROVE);
});
