import { test } from "node:test";
import assert from "node:assert/strict";
import { psi, SlidingCounts, TimeSlicedCounts } from "../../../../services/lib/stats/index.js";

const MIN = 60_000;
const HOUR = 60 * MIN;

test("the time window counts what came in the last hour, to the minute, and drops the rest as time passes", () => {
  const w = new TimeSlicedCounts(3, HOUR);
  const t0 = 1_000 * HOUR;
  w.add(0, t0);
  w.add(1, t0 + 10 * MIN);
  w.add(1, t0 + 59 * MIN);
  assert.deepEqual(w.counts(t0 + 59 * MIN), [1, 2, 0]);
  assert.deepEqual(w.counts(t0 + 60 * MIN), [0, 2, 0], "the first minute fell out");
  assert.equal(w.size(t0 + 60 * MIN), 2);
  assert.deepEqual(w.counts(t0 + 69 * MIN), [0, 2, 0], "minute 10 is still one of the last 60");
  assert.deepEqual(w.counts(t0 + 70 * MIN), [0, 1, 0]);
  assert.deepEqual(w.counts(t0 + 5 * HOUR), [0, 0, 0], "a quiet spell longer than the window empties it");
  w.add(2, t0 + 5 * HOUR);
  w.add(2, t0 + 4 * HOUR); // late: counts in the newest slice
  assert.deepEqual(w.counts(t0 + 5 * HOUR), [0, 0, 2]);
});

test("the time window agrees with a brute-force count over a long random stream", () => {
  const w = new TimeSlicedCounts(4, HOUR);
  const seen: { t: number; bin: number }[] = [];
  let t = 7 * HOUR;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 5000; i++) {
    t += Math.floor(rand() * 3 * MIN);
    const bin = Math.floor(rand() * 4);
    w.add(bin, t);
    seen.push({ t, bin });
    if (i % 97 === 0) {
      const from = Math.floor(t / MIN) * MIN - 59 * MIN; // the current minute and the 59 before it
      const brute = [0, 0, 0, 0];
      for (const s of seen) if (s.t >= from) brute[s.bin]!++;
      assert.deepEqual(w.counts(t), brute, `at ${i}`);
    }
  }
});

test("windowed PSI: a window drawn like the reference reads near 0, a shifted one reads high, and the shift leaves the window", () => {
  const reference = [250, 250, 250, 250];
  const last = new SlidingCounts(4, 1000);
  for (let i = 0; i < 1000; i++) last.add(i % 4);
  assert.ok(psi(reference, last.counts()) < 1e-9);
  for (let i = 0; i < 500; i++) last.add(0);
  const shifted = psi(reference, last.counts());
  assert.ok(shifted > 0.25, `PSI ${shifted}`);
  for (let i = 0; i < 1000; i++) last.add(i % 4);
  assert.ok(psi(reference, last.counts()) < 1e-9, "the last 1,000 are like the reference again");
});

test("bad sizes are refused", () => {
  assert.throws(() => new TimeSlicedCounts(3, 0), /windowMs/);
  assert.throws(() => new TimeSlicedCounts(3, HOUR, 0), /sliceCount/);
});
