import { test } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter, TokenBucket } from "../../../../services/validator/auth/rate-limiter.js";

test("a token bucket admits its burst at once, then the rate, and says how long to wait", () => {
  const b = new TokenBucket({ ratePerSecond: 10, burst: 3 }, 0);
  for (let i = 0; i < 3; i++) assert.equal(b.take(1, 0), undefined);
  assert.equal(b.take(1, 0), 100);
  assert.equal(b.take(1, 50), 50);
  assert.equal(b.take(1, 100), undefined);
  // Idle time refills to the burst, never beyond.
  for (let i = 0; i < 3; i++) assert.equal(b.take(1, 60_000), undefined);
  assert.ok(b.take(1, 60_000)! > 0);
});

test("a call larger than the bucket is admitted when the bucket is full, and the debt is paid at the rate", () => {
  const b = new TokenBucket({ ratePerSecond: 10, burst: 5 }, 0);
  assert.equal(b.take(20, 0), undefined);
  // 15 tokens owed: 1.5 s until there are 0, then 0.1 s for one more.
  assert.equal(b.take(1, 0), 1600);
  assert.equal(b.take(1, 1600), undefined);
});

test("the limiter gives each of N replicas 1/N of the rate and burst, per tenant", () => {
  const l = new RateLimiter();
  const t = { ratePerSecond: 20, burst: 4 };
  let admitted = 0;
  for (let i = 0; i < 10; i++) if (l.take("a", t, 2, 1, 0) === undefined) admitted++;
  assert.equal(admitted, 2);
  assert.equal(l.take("b", t, 2, 1, 0), undefined, "another tenant has its own bucket");
  // One second later, 10 more (20/s over 2 replicas), capped by the burst share of 2.
  admitted = 0;
  for (let i = 0; i < 10; i++) if (l.take("a", t, 2, 1, 1000) === undefined) admitted++;
  assert.equal(admitted, 2);
  // The other replica gone: this one takes the whole rate and burst (the bucket grows as it refills).
  admitted = 0;
  for (let i = 0; i < 10; i++) if (l.take("a", t, 1, 1, 5000) === undefined) admitted++;
  assert.equal(admitted, 2);
  admitted = 0;
  for (let i = 0; i < 10; i++) if (l.take("a", t, 1, 1, 6000) === undefined) admitted++;
  assert.equal(admitted, 4);
});
