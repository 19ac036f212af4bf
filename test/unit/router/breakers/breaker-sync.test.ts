import { test } from "node:test";
import assert from "node:assert/strict";
import { BreakerSync, isNewer, type BreakerTransition } from "../../../../services/router/breakers/breaker-sync.js";
import { BreakerBoard } from "../../../../services/router/breakers/breakers.js";
import { FakeClock } from "../../../support/fake-clock.js";

const T = "127.0.0.1:50081/credit-default/3";
const tr = (origin: string, state: BreakerTransition["state"], epoch: number, at: number): BreakerTransition => ({
  origin,
  target: T,
  state,
  epoch,
  at,
});

test("order: epoch first, then time, then origin", () => {
  assert.equal(isNewer(undefined, tr("a", "OPEN", 1, 0)), true);
  assert.equal(
    isNewer(tr("a", "OPEN", 2, 0), tr("b", "CLOSED", 1, 99)),
    false,
    "a lower epoch is older whatever its time",
  );
  assert.equal(isNewer(tr("a", "OPEN", 2, 10), tr("b", "CLOSED", 2, 11)), true);
  assert.equal(
    isNewer(tr("a", "OPEN", 2, 10), tr("b", "CLOSED", 2, 10)),
    true,
    "same epoch and time: origin breaks the tie",
  );
  assert.equal(isNewer(tr("b", "OPEN", 2, 10), tr("a", "CLOSED", 2, 10)), false);
  assert.equal(isNewer(tr("a", "OPEN", 2, 10), tr("a", "OPEN", 2, 10)), false, "a replay is not newer");
});

test("another replica's OPEN is adopted at once, for the rest of its wait; CLOSED starts our own trials", () => {
  const s = new BreakerSync("r2", { waitInOpenMs: 2000 });
  assert.deepEqual(s.receive(tr("r1", "OPEN", 1, 10_000), 10_050), { kind: "open", waitMs: 1950 });
  assert.deepEqual(s.receive(tr("r1", "HALF_OPEN", 2, 12_000), 12_000), { kind: "ignore", why: "informational" });
  assert.deepEqual(s.receive(tr("r1", "CLOSED", 3, 12_100), 12_100), { kind: "try-recovery" });
});

test("stale and out-of-order transitions are ignored", () => {
  const s = new BreakerSync("r2", { waitInOpenMs: 2000 });
  assert.equal(s.receive(tr("r1", "CLOSED", 5, 500), 500).kind, "try-recovery");
  assert.deepEqual(
    s.receive(tr("r3", "OPEN", 4, 600), 600),
    { kind: "ignore", why: "stale" },
    "epoch 4 arrives after epoch 5",
  );
  assert.deepEqual(s.receive(tr("r1", "CLOSED", 5, 500), 700), { kind: "ignore", why: "stale" }, "a replay");
  assert.equal(s.get(T)?.epoch, 5);
});

test("our own transitions advance the epoch past everything seen, and their echo is ignored", () => {
  const s = new BreakerSync("r1", { waitInOpenMs: 2000 });
  s.receive(tr("r2", "OPEN", 7, 100), 100);
  const mine = s.local(T, "CLOSED", 200);
  assert.deepEqual(mine, tr("r1", "CLOSED", 8, 200));
  assert.deepEqual(s.receive(mine, 201), { kind: "ignore", why: "own" });
});

test("a late replica reading an old OPEN opens with no wait left: its own trials decide at once", () => {
  const s = new BreakerSync("late", { waitInOpenMs: 2000 });
  assert.deepEqual(s.receive(tr("r1", "OPEN", 3, 1_000), 60_000), { kind: "open", waitMs: 0 });
});

test("concurrent openings by two replicas converge: both keep the later one, neither reopens for the other", () => {
  const a = new BreakerSync("a", { waitInOpenMs: 2000 });
  const b = new BreakerSync("b", { waitInOpenMs: 2000 });
  const ta = a.local(T, "OPEN", 1000);
  const tb = b.local(T, "OPEN", 1001);
  assert.equal(a.receive(tb, 1002).kind, "open");
  assert.deepEqual(b.receive(ta, 1002), { kind: "ignore", why: "stale" });
  assert.deepEqual(a.get(T), b.get(T));
});

test("BreakerBoard: a local opening is published; a remote one is adopted without being published again", async () => {
  const clock = new FakeClock();
  let wall = 1_000_000;
  const published: BreakerTransition[] = [];
  const opts = { windowSize: 4, minimumCalls: 2, waitInOpenMs: 1000, halfOpenTrialCalls: 1, clock };
  const r1 = new BreakerBoard("r1", opts, undefined, { now: () => wall });
  const r2 = new BreakerBoard("r2", opts, undefined, { now: () => wall });
  r1.publish = (t) => published.push(t);
  r2.publish = (t) => published.push(t);
  for (let i = 0; i < 2; i++) r1.acquire("127.0.0.1:50081", "credit-default", "3")!.record(true, 1);
  assert.equal(published.length, 1);
  assert.deepEqual(published[0], tr("r1", "OPEN", 1, wall));
  assert.equal(r2.allows("127.0.0.1:50081", "credit-default", "3"), true);
  wall += 5;
  r2.apply(published[0]);
  assert.equal(r2.allows("127.0.0.1:50081", "credit-default", "3"), false, "r2 refuses the target at once");
  assert.equal(published.length, 1, "adopting is not a transition of r2's own to publish");
  // r1 recovers through its trial; r2 hears CLOSED and tries its own trial rather than closing on r1's word.
  await clock.advance(1000);
  r1.acquire("127.0.0.1:50081", "credit-default", "3")!.record(false, 1);
  const closed = published.find((t) => t.state === "CLOSED")!;
  assert.equal(closed.origin, "r1");
  assert.equal(closed.epoch, 3, "OPEN 1, HALF_OPEN 2, CLOSED 3");
  r2.apply(closed);
  assert.equal(r2.breaker(T).state, "HALF_OPEN");
});
