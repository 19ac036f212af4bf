import { test } from "node:test";
import assert from "node:assert/strict";
import { Batcher, type BatcherOptions, type QueuedRequest } from "../../../../services/lib/batching/batcher.js";
import {
  DeadlineExpiredError,
  QueueFullError,
  RequestCancelledError,
} from "../../../../services/lib/batching/batch-errors.js";
import { FakeClock } from "../../../support/fake-clock.js";

/** A batcher over numbers whose run records each batch's rows and echoes its inputs times ten. */
function setup(opts: BatcherOptions = {}) {
  const clock = new FakeClock();
  const batches: number[][] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const b = new Batcher<number, number>(
    async (reqs: QueuedRequest<number>[]) => {
      batches.push(reqs.map((r) => r.input));
      if (hold) await new Promise<void>((r) => (release = r));
      return reqs.map((r) => r.input * 10);
    },
    { clock, ...opts },
  );
  return {
    clock,
    b,
    batches,
    hold(on: boolean) {
      hold = on;
    },
    release: () => release?.(),
  };
}

test("requests that arrive in the same tick run as one batch, and each gets its own output", async () => {
  const { b, clock, batches } = setup();
  const outs = [1, 2, 3].map((x) => b.submit(x, 1));
  assert.equal(batches.length, 0, "nothing runs synchronously inside submit");
  await clock.advance(0);
  assert.deepEqual(batches, [[1, 2, 3]]);
  assert.deepEqual(await Promise.all(outs), [10, 20, 30]);
  assert.equal(b.stats().batches, 1);
  assert.equal(b.stats().rowsRun, 3);
});

test("a full batch goes at once; the rest waits for the queue delay", async () => {
  const { b, clock, batches } = setup({ maxBatchRows: 4, maxQueueDelayMs: 5 });
  const outs = [1, 2, 3, 4, 5, 6].map((x) => b.submit(x, 1));
  await clock.advance(0);
  assert.deepEqual(batches, [[1, 2, 3, 4]]);
  await clock.advance(4.9);
  assert.equal(batches.length, 1, "two rows wait until the oldest has waited 5 ms");
  await clock.advance(0.1);
  assert.deepEqual(batches, [
    [1, 2, 3, 4],
    [5, 6],
  ]);
  assert.deepEqual(await Promise.all(outs), [10, 20, 30, 40, 50, 60]);
});

test("a preferred size goes before the delay is up", async () => {
  const { b, clock, batches } = setup({ maxBatchRows: 16, maxQueueDelayMs: 10, preferredBatchRows: [2, 8] });
  void b.submit(1, 1);
  await clock.advance(1);
  assert.equal(batches.length, 0);
  void b.submit(2, 1); // 2 rows queued: a preferred size
  await clock.advance(0);
  assert.deepEqual(batches, [[1, 2]]);
  void b.submit(3, 1);
  void b.submit(4, 1);
  void b.submit(5, 1);
  await clock.advance(0);
  assert.deepEqual(batches[1], [3, 4], "the largest preferred size that can be formed goes; the third row waits");
  await clock.advance(10);
  assert.deepEqual(batches[2], [5]);
});

test("requests are never split; one larger than the batch runs alone", async () => {
  const { b, clock, batches } = setup({ maxBatchRows: 4 });
  void b.submit(1, 3);
  void b.submit(2, 2);
  void b.submit(3, 9);
  await clock.advance(0);
  await clock.advance(0);
  await clock.advance(0);
  assert.deepEqual(batches, [[1], [2], [3]]);
});

test("one batch at a time: what arrives while a batch runs forms the next one", async () => {
  const t = setup({ maxBatchRows: 64 });
  t.hold(true);
  const first = t.b.submit(1, 1);
  await t.clock.advance(0);
  const rest = [2, 3, 4].map((x) => t.b.submit(x, 1));
  await t.clock.advance(1);
  assert.deepEqual(t.batches, [[1]], "the second batch waits for the first");
  assert.equal(t.b.stats().inFlight, 1);
  t.hold(false);
  t.release();
  assert.equal(await first, 10);
  await t.clock.advance(0);
  assert.deepEqual(t.batches, [[1], [2, 3, 4]]);
  assert.deepEqual(await Promise.all(rest), [20, 30, 40]);
});

test("maxInFlight > 1 runs batches side by side", async () => {
  const t = setup({ maxBatchRows: 2, maxInFlight: 2 });
  t.hold(true);
  for (const x of [1, 2, 3, 4, 5]) void t.b.submit(x, 1).catch(() => undefined);
  await t.clock.advance(0);
  assert.deepEqual(t.batches, [
    [1, 2],
    [3, 4],
  ]);
  assert.equal(t.b.stats().inFlight, 2);
  t.b.close();
});

test("a full queue sheds load with QueueFullError and a retry hint", async () => {
  const t = setup({ maxBatchRows: 2, maxQueueRows: 4 });
  t.hold(true);
  void t.b.submit(0, 2);
  await t.clock.advance(0); // running: the queue is empty again
  const queued = [1, 2, 3, 4].map((x) => t.b.submit(x, 1));
  await assert.rejects(t.b.submit(5, 1), (err: unknown) => {
    assert.ok(err instanceof QueueFullError);
    assert.equal(err.queuedRows, 4);
    assert.ok(err.retryAfterMs >= 1);
    return true;
  });
  assert.equal(t.b.stats().shed, 1);
  t.hold(false);
  t.release();
  await t.clock.advance(0);
  await t.clock.advance(0);
  assert.deepEqual(await Promise.all(queued), [10, 20, 30, 40]);
});

test("a request whose deadline passed in the queue is dropped, not run", async () => {
  const t = setup({ maxBatchRows: 8 });
  t.hold(true);
  void t.b.submit(0, 1);
  await t.clock.advance(0);
  const late = t.b.submit(1, 1, { deadline: 5 });
  const onTime = t.b.submit(2, 1, { deadline: 50 });
  await t.clock.advance(10);
  t.hold(false);
  t.release();
  await t.clock.advance(0);
  await assert.rejects(late, DeadlineExpiredError);
  assert.equal(await onTime, 20);
  assert.deepEqual(t.batches, [[0], [2]], "the expired request never reached the model");
  assert.equal(t.b.stats().expired, 1);
});

test("a cancelled request leaves the queue at once", async () => {
  const t = setup({ maxQueueDelayMs: 10, maxBatchRows: 8 });
  const ac = new AbortController();
  const p = t.b.submit(1, 1, { signal: ac.signal });
  const q = t.b.submit(2, 1);
  ac.abort();
  await assert.rejects(p, RequestCancelledError);
  assert.equal(t.b.stats().queuedRows, 1);
  await t.clock.advance(10);
  assert.deepEqual(t.batches, [[2]]);
  assert.equal(await q, 20);
});

test("a failed batch rejects each of its requests with the error", async () => {
  const clock = new FakeClock();
  const b = new Batcher<number, number>(async () => Promise.reject(new Error("model exploded")), { clock });
  const ps = [b.submit(1, 1), b.submit(2, 1)];
  await clock.advance(0);
  for (const p of ps) await assert.rejects(p, /model exploded/);
});
