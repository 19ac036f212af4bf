import { test } from "node:test";
import assert from "node:assert/strict";
import { AdaptiveConcurrencyLimit, type Ticket } from "../../../services/validator/concurrency-limit.js";
import { FakeClock } from "../../support/fake-clock.js";

/** Offers `calls` calls at once, every `rttMs`, for `ms`; each admitted call takes `rttMs`. */
function drive(limit: AdaptiveConcurrencyLimit, clock: FakeClock, ms: number, calls: number, rttMs: number) {
  for (const end = clock.t + ms; clock.t < end;) {
    const tickets = Array.from({ length: calls }, () => limit.tryAcquire()).filter((t): t is Ticket => !!t);
    clock.t += rttMs;
    for (const t of tickets) t.release("ok");
  }
}

test("calls beyond the limit are refused at once; a released ticket frees its place, once", () => {
  const limit = new AdaptiveConcurrencyLimit({ initialLimit: 3, minLimit: 1 }, new FakeClock());
  const t = [limit.tryAcquire(), limit.tryAcquire(), limit.tryAcquire()];
  assert.ok(t.every(Boolean));
  assert.equal(limit.tryAcquire(), undefined);
  t[0]!.release("ignored");
  t[0]!.release("ignored");
  assert.equal(limit.inFlight, 2);
  assert.ok(limit.tryAcquire());
  assert.equal(limit.tryAcquire(), undefined);
});

test("with steady latency and the limit in use, the limit grows", () => {
  const clock = new FakeClock();
  const limit = new AdaptiveConcurrencyLimit({ initialLimit: 20 }, clock);
  drive(limit, clock, 10_000, 1000, 10);
  assert.ok(limit.limit > 100, `limit ${limit.limit}`);
});

test("an app-limited load (under half the limit in use) does not raise the limit", () => {
  const clock = new FakeClock();
  const limit = new AdaptiveConcurrencyLimit({ initialLimit: 100 }, clock);
  drive(limit, clock, 5000, 20, 10);
  assert.equal(limit.limit, 100);
});

test("latency beyond tolerance x baseline shrinks the limit towards the minimum; it recovers when latency falls", () => {
  const clock = new FakeClock();
  const limit = new AdaptiveConcurrencyLimit({ initialLimit: 200, minLimit: 10 }, clock);
  drive(limit, clock, 2000, 1000, 10); // baseline ~10 ms
  const before = limit.limit;
  drive(limit, clock, 3000, 1000, 200); // 20x the baseline
  assert.ok(limit.limit < before / 2, `limit ${before} -> ${limit.limit}`);
  assert.ok(limit.baselineMs < 50, `baseline ${limit.baselineMs}`);
  const low = limit.limit;
  drive(limit, clock, 5000, 1000, 10);
  assert.ok(limit.limit > low * 2, `limit ${low} -> ${limit.limit}`);
});

test("dropped calls (deadline passed) cut the limit even without latency samples", () => {
  const clock = new FakeClock();
  const limit = new AdaptiveConcurrencyLimit({ initialLimit: 100, minLimit: 4 }, clock);
  for (let w = 0; w < 10; w++) {
    const t = limit.tryAcquire()!;
    clock.t += 100;
    t.release("dropped");
  }
  assert.ok(limit.limit <= 100 * 0.9 ** 9 + 1, `limit ${limit.limit}`);
  assert.ok(limit.limit >= 4);
});

test("the limit stays within [minLimit, maxLimit]", () => {
  const clock = new FakeClock();
  const limit = new AdaptiveConcurrencyLimit({ initialLimit: 50, minLimit: 8, maxLimit: 60 }, clock);
  drive(limit, clock, 10_000, 1000, 10);
  assert.equal(limit.limit, 60);
  drive(limit, clock, 200_000, 1000, 5000);
  assert.equal(limit.limit, 8);
});

test("a saturated process cuts the limit each window, as drops do, though latency holds; then it grows again", () => {
  const clock = new FakeClock();
  let saturated = false;
  const limit = new AdaptiveConcurrencyLimit({ initialLimit: 200, minLimit: 4, saturated: () => saturated }, clock);
  drive(limit, clock, 2000, 1000, 10);
  const before = limit.limit;
  saturated = true;
  drive(limit, clock, 1000, 1000, 10); // ten windows at the same latency
  assert.ok(limit.limit <= Math.ceil(before * 0.9 ** 9), `limit ${before} -> ${limit.limit}`);
  const low = limit.limit;
  saturated = false;
  drive(limit, clock, 3000, 1000, 10);
  assert.ok(limit.limit > low, `limit ${low} -> ${limit.limit}`);
});

test("a loop still busy while latency falls (refusing the tail of an overload) does not keep the limit down", () => {
  const clock = new FakeClock();
  const limit = new AdaptiveConcurrencyLimit({ initialLimit: 200, minLimit: 4, saturated: () => true }, clock);
  drive(limit, clock, 3000, 1000, 40); // saturated at 40 ms: cut to the minimum
  const low = limit.limit;
  drive(limit, clock, 3000, 1000, 10); // still busy, but latency well under the baseline: recovering
  assert.ok(limit.limit > low * 2, `limit ${low} -> ${limit.limit}`);
});
