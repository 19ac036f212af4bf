import { test } from "node:test";
import assert from "node:assert/strict";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { decide } from "../../../../services/lib/model/model-card.js";

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
