import { test } from "node:test";
import assert from "node:assert/strict";
import { CircuitBreaker } from "../../../../services/router/breakers/circuit-breaker.js";
import { FakeClock } from "../../../support/fake-clock.js";

function breaker(clock: FakeClock, transitions: string[] = []) {
  return new CircuitBreaker({
    windowSize: 10,
    minimumCalls: 4,
    failureRateThreshold: 0.5,
    slowCallDurationMs: 100,
    slowCallRateThreshold: 0.75,
    waitInOpenMs: 1000,
    halfOpenTrialCalls: 2,
    clock,
    onTransition: ({ from, to, adopted }) => transitions.push(`${from}->${to}${adopted ? " (adopted)" : ""}`),
  });
}

const call = (b: CircuitBreaker, failed: boolean, ms = 1) => {
  const p = b.tryAcquire();
  assert.ok(p, "a permit was expected");
  p.record(failed, ms);
};

test("stays closed below the minimum number of calls, however many of them failed", () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  const b = breaker(clock, seen);
  call(b, true);
  call(b, true);
  call(b, true);
  assert.equal(b.state, "CLOSED", "3 failures of 3 calls, but 4 are needed to judge");
  call(b, false);
  assert.equal(b.state, "OPEN", "3 failed of 4 = 75 %, judged now");
  assert.deepEqual(seen, ["CLOSED->OPEN"]);
});

test("opens when failures reach the rate over the window; refuses calls while open", () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  const b = new CircuitBreaker({
    windowSize: 10,
    minimumCalls: 4,
    failureRateThreshold: 0.5,
    waitInOpenMs: 1000,
    clock,
    onTransition: (t) => seen.push(`${t.from}->${t.to}`),
  });
  call(b, false);
  call(b, false);
  call(b, false);
  call(b, true);
  assert.equal(b.state, "CLOSED", "1 of 4 failed: 25 %");
  call(b, true);
  assert.equal(b.state, "CLOSED", "2 of 5: 40 %");
  call(b, true);
  assert.equal(b.state, "OPEN", "3 of 6: 50 %");
  assert.equal(b.tryAcquire(), undefined);
  assert.equal(b.allows(), false);
  assert.deepEqual(seen, ["CLOSED->OPEN"]);
});

test("the slow-call rate opens a breaker whose calls all succeed (a worker that hangs)", () => {
  const clock = new FakeClock();
  const b = breaker(clock);
  for (let i = 0; i < 3; i++) call(b, false, 150);
  call(b, false, 5);
  assert.equal(b.state, "OPEN", "3 of 4 slow = 75 %");
});

test("open → half-open after the wait; limited trial calls; all good → closed with a fresh window", async () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  const b = breaker(clock, seen);
  for (let i = 0; i < 4; i++) call(b, true);
  assert.equal(b.state, "OPEN");
  await clock.advance(999);
  assert.equal(b.state, "OPEN");
  await clock.advance(1);
  assert.equal(b.state, "HALF_OPEN");
  const p1 = b.tryAcquire();
  const p2 = b.tryAcquire();
  assert.ok(p1 && p2);
  assert.equal(b.tryAcquire(), undefined, "only 2 trial calls");
  p1.record(false, 1);
  assert.equal(b.state, "HALF_OPEN");
  p2.record(false, 1);
  assert.equal(b.state, "CLOSED");
  assert.deepEqual(seen, ["CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED"]);
  call(b, true);
  call(b, true);
  call(b, true);
  assert.equal(b.state, "CLOSED", "the window starts empty after closing");
});

test("a failed trial opens the breaker again for a full wait; a released trial frees its slot", async () => {
  const clock = new FakeClock();
  const b = breaker(clock);
  for (let i = 0; i < 4; i++) call(b, true);
  await clock.advance(1000);
  const p1 = b.tryAcquire()!;
  const p2 = b.tryAcquire()!;
  p2.release();
  assert.ok(b.tryAcquire(), "the released slot is free again");
  p1.record(true, 1);
  assert.equal(b.state, "OPEN", "1 of 2 trials failed: 50 %");
  await clock.advance(999);
  assert.equal(b.state, "OPEN");
  await clock.advance(1);
  assert.equal(b.state, "HALF_OPEN");
});

test("outcomes recorded twice count once; a late outcome from before the opening is ignored", () => {
  const clock = new FakeClock();
  const b = breaker(clock);
  const early = b.tryAcquire()!;
  const p = b.tryAcquire()!;
  p.record(true, 1);
  p.record(true, 1);
  assert.equal(b.rates().calls, 1);
  for (let i = 0; i < 3; i++) call(b, true);
  assert.equal(b.state, "OPEN");
  early.record(false, 1);
  assert.equal(b.state, "OPEN");
});

test("forceOpen adopts another replica's opening for the rest of its wait; tryRecovery starts our own trials", async () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  const b = breaker(clock, seen);
  b.forceOpen(300);
  assert.equal(b.state, "OPEN");
  assert.equal(b.tryAcquire(), undefined);
  await clock.advance(300);
  assert.equal(b.state, "HALF_OPEN");
  b.forceOpen();
  assert.equal(b.state, "OPEN");
  b.tryRecovery();
  assert.equal(b.state, "HALF_OPEN");
  call(b, false);
  call(b, false);
  assert.equal(b.state, "CLOSED");
  assert.deepEqual(seen, [
    "CLOSED->OPEN (adopted)",
    "OPEN->HALF_OPEN",
    "HALF_OPEN->OPEN (adopted)",
    "OPEN->HALF_OPEN (adopted)",
    "HALF_OPEN->CLOSED",
  ]);
});

test("options are checked", () => {
  assert.throws(() => new CircuitBreaker({ windowSize: 5, minimumCalls: 6 }), /minimumCalls/);
  assert.throws(() => new CircuitBreaker({ halfOpenTrialCalls: 0 }), /halfOpenTrialCalls/);
});
