import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  batchTimeoutMs,
  deadlineGroup,
  HOP_DEADLINES,
  withinDeadline,
  WORKER_DEADLINES,
} from "../../../../services/lib/batching/batch-deadlines.js";
import { FakeClock } from "../../../support/fake-clock.js";

test("hop batches group calls by time left, a quarter of an octave apart; worker batches do not group", () => {
  assert.equal(deadlineGroup(HOP_DEADLINES, 2000), "@43");
  assert.equal(deadlineGroup(HOP_DEADLINES, 2200), "@44", "10 % more time left is in the next group here");
  assert.equal(deadlineGroup(HOP_DEADLINES, 1900), "@43");
  assert.equal(deadlineGroup(HOP_DEADLINES, 0), "@0");
  assert.equal(deadlineGroup(WORKER_DEADLINES, 2000), "");
  assert.equal(deadlineGroup(WORKER_DEADLINES, 5), "");
});

test("a hop batch goes with its callers' earliest deadline, a worker batch with the latest, capped; at least 1 ms", () => {
  const deadlines = [1100, 1300, 1200];
  assert.equal(batchTimeoutMs(HOP_DEADLINES, deadlines, 1000), 100);
  assert.equal(batchTimeoutMs(WORKER_DEADLINES, deadlines, 1000), 300);
  assert.equal(batchTimeoutMs(WORKER_DEADLINES, deadlines, 1000, 250), 250);
  assert.equal(batchTimeoutMs(HOP_DEADLINES, deadlines, 1200), 1, "a deadline already passed still gets 1 ms");
  assert.equal(batchTimeoutMs(HOP_DEADLINES, [1000.9], 1000), 1);
});

test("a caller waits for its answer no longer than its own deadline", async () => {
  const clock = new FakeClock();
  const never = new Promise<number>(() => undefined);
  const late = withinDeadline(never, 50, clock, "test call").then(
    () => "answered",
    (e: unknown) => ConnectError.from(e),
  );
  await clock.advance(49);
  const early = await withinDeadline(Promise.resolve(7), 50, clock, "test call");
  assert.equal(early, 7);
  await clock.advance(1);
  const err = await late;
  assert.ok(err instanceof ConnectError);
  assert.equal(err.code, Code.DeadlineExceeded);
  assert.match(err.message, /test call: no answer within the caller's deadline \(50 ms\)/);
});
