import { test } from "node:test";
import assert from "node:assert/strict";
import { RetryBudget, RetryBudgets } from "../../../../services/router/workers/retry-budget.js";
import { FakeClock } from "../../../support/fake-clock.js";

const times = (n: number, f: () => unknown) => Array.from({ length: n }, f);
const withdrawn = (b: RetryBudget, n: number) => times(n, () => b.tryWithdraw()).filter(Boolean).length;

test("the ratio is honoured: 20 % of the first attempts in the window, not one retry more", () => {
  const clock = new FakeClock();
  const b = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, ttlMs: 10_000, clock });
  assert.equal(b.tryWithdraw(), false, "no first attempts, no floor: no retry");
  times(10, () => b.deposit());
  assert.equal(withdrawn(b, 5), 2, "10 first attempts earn 2 retries");
  times(20, () => b.deposit());
  assert.equal(b.available(), 4, "30 × 0.2 = 6, 2 taken");
  assert.equal(withdrawn(b, 10), 4);
  assert.deepEqual(b.stats(), { firstAttempts: 30, retries: 6, available: 0, refused: 10 });
});

test("no floating-point loss: 0.29 × 100 first attempts allow 29 retries, not 28", () => {
  const b = new RetryBudget({ ratio: 0.29, minRetriesPerSecond: 0, clock: new FakeClock() });
  times(100, () => b.deposit());
  assert.equal(b.available(), 29);
});

test("a retry storm through one budget adds at most ratio × load (plus the floor)", () => {
  const clock = new FakeClock();
  const b = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 1, ttlMs: 10_000, clock });
  let calls = 0;
  // 1000 first attempts over 10 s, each of which would like to retry twice.
  for (let i = 0; i < 1000; i++) {
    clock.t = i * 10;
    b.deposit();
    calls++;
    for (let r = 0; r < 2 && b.tryWithdraw(); r++) calls++;
  }
  assert.ok(calls <= 1000 * 1.2 + 10, `${calls} calls for 1000 first attempts`);
  assert.ok(calls >= 1000 * 1.2, `the budget was used: ${calls}`);
});

test("the floor lets a quiet target retry: minRetriesPerSecond × the window's seconds", () => {
  const clock = new FakeClock();
  const b = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 2, ttlMs: 5_000, clock });
  assert.equal(b.available(), 10);
  assert.equal(withdrawn(b, 15), 10, "2/s × 5 s with no traffic at all");
  times(5, () => b.deposit());
  assert.equal(withdrawn(b, 5), 1, "the ratio adds on top of the floor");
});

test("counts leave the window after ttlMs, bucket by bucket", () => {
  const clock = new FakeClock();
  const b = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, ttlMs: 10_000, bucketMs: 1000, clock });
  times(10, () => b.deposit()); // bucket [0, 1000)
  clock.t = 5_000;
  times(10, () => b.deposit()); // bucket [5000, 6000)
  assert.equal(withdrawn(b, 20), 10, "20 first attempts × 0.5");
  clock.t = 9_999;
  assert.equal(b.tryWithdraw(), false, "everything is still in the window");
  clock.t = 10_000;
  // The first 10 deposits left; the 10 retries at 5 s still count against 10 × 0.5 = 5.
  assert.deepEqual({ ...b.stats(), refused: 0 }, { firstAttempts: 10, retries: 10, available: 0, refused: 0 });
  assert.equal(b.tryWithdraw(), false);
  clock.t = 15_000;
  assert.deepEqual(
    { ...b.stats(), refused: 0 },
    { firstAttempts: 0, retries: 0, available: 0, refused: 0 },
    "all of it has left",
  );
  times(4, () => b.deposit());
  assert.equal(withdrawn(b, 5), 2, "a fresh window");
  clock.t = 1e9;
  assert.equal(b.stats().firstAttempts, 0, "a long idle gap empties every bucket");
  b.deposit();
  b.deposit();
  assert.equal(withdrawn(b, 2), 1);
});

test("refusalReport: the refusals since the last report, at most once per interval", () => {
  const clock = new FakeClock();
  const b = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0, clock });
  assert.equal(b.refusalReport(1000), undefined, "nothing refused yet");
  b.tryWithdraw();
  b.tryWithdraw();
  assert.equal(b.refusalReport(1000), 2);
  b.tryWithdraw();
  clock.t = 999;
  assert.equal(b.refusalReport(1000), undefined, "less than a second since the last report");
  clock.t = 1000;
  b.tryWithdraw();
  assert.equal(b.refusalReport(1000), 2);
  assert.equal(b.stats().refused, 4);
});

test("RetryBudgets: one budget per target, shared by its callers, independent of the others", () => {
  const clock = new FakeClock();
  const budgets = new RetryBudgets({ ratio: 1, minRetriesPerSecond: 0, clock });
  budgets.for("m/1").deposit();
  assert.equal(budgets.for("m/1"), budgets.for("m/1"));
  assert.equal(budgets.for("m/2").tryWithdraw(), false, "m/2 earned nothing");
  assert.equal(budgets.for("m/1").tryWithdraw(), true);
  assert.equal(budgets.for("m/1").tryWithdraw(), false);
  assert.deepEqual(Object.keys(budgets.stats()).sort(), ["m/1", "m/2"]);
});

test("rejects nonsense options", () => {
  assert.throws(() => new RetryBudget({ ttlMs: 0 }), RangeError);
  assert.throws(() => new RetryBudget({ ratio: -1 }), RangeError);
});
