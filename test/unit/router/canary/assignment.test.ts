import { test } from "node:test";
import assert from "node:assert/strict";
import { assignmentBucket, inCanary } from "../../../../services/router/canary/assignment.js";

const row = (entityId: string, requestId = "") => ({ entityId, requestId });

test("the canary's share over many entities is within ±1 point of the percent asked", () => {
  for (const percent of [1, 5, 20, 50, 90]) {
    let n = 0;
    for (let i = 0; i < 20_000; i++) if (inCanary("credit-default", row(`C-${i}`), percent)) n++;
    const share = (100 * n) / 20_000;
    assert.ok(Math.abs(share - percent) <= 1, `${percent} % asked, ${share.toFixed(2)} % got`);
  }
});

test("assignment is sticky: the same entity always gets the same bucket, whatever its request id", () => {
  for (let i = 0; i < 100; i++) {
    const b = assignmentBucket("credit-default", row(`C-${i}`, "r-1"));
    assert.equal(assignmentBucket("credit-default", row(`C-${i}`, "r-2")), b);
    assert.ok(Number.isInteger(b) && b >= 0 && b < 10_000);
  }
  // A fixed value: a change of the hash would move every entity between arms on a rolling upgrade.
  assert.equal(assignmentBucket("credit-default", row("C-1042")), 3896);
});

test("without an entity the request id decides; the model is part of the hash", () => {
  const byRequest = Array.from({ length: 200 }, (_, i) => assignmentBucket("m", row("", `r-${i}`)));
  assert.ok(new Set(byRequest).size > 150, "request ids spread over the buckets");
  assert.equal(assignmentBucket("m", row("", "r-7")), byRequest[7]);
  const sameBucket = Array.from({ length: 200 }, (_, i) => i).filter(
    (i) => assignmentBucket("a", row(`C-${i}`)) === assignmentBucket("b", row(`C-${i}`)),
  );
  assert.ok(sameBucket.length < 5, "two models put an entity in unrelated buckets");
});

test("raising the percent keeps every entity the canary already had", () => {
  for (let i = 0; i < 2000; i++) {
    const r = row(`C-${i}`);
    if (inCanary("m", r, 5)) assert.ok(inCanary("m", r, 25), `C-${i} left the canary when it grew`);
  }
  assert.equal(inCanary("m", row("x"), 100), true);
});
