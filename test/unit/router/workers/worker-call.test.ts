import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ModelCard, floatBytes } from "../../../../services/lib/model/index.js";
import { BreakerBoard, breakerTarget } from "../../../../services/router/breakers/breakers.js";
import { RetryBudgets } from "../../../../services/router/workers/retry-budget.js";
import {
  abortableSleep,
  backoffDelay,
  BreakersOpenError,
  callWorkers,
  type RetryOptions,
  type WorkerCall,
} from "../../../../services/router/workers/worker-call.js";
import type { WorkerEndpoint } from "../../../../services/router/workers/worker-pool.js";
import { FakeClock } from "../../../support/fake-clock.js";

// The thing under test is the router's retry logic; the workers are fakes with a modelInfer function.

const card = { features: ["a", "b"], onnx: { inputs: [{ name: "x" }], score_output: "p" } } as unknown as ModelCard;
const call = (o: Partial<WorkerCall> = {}): WorkerCall => ({
  model: "m",
  version: "1",
  card,
  matrix: new Float32Array([1, 2]),
  rows: 1,
  timeoutMs: 500,
  ...o,
});

type Opts = { timeoutMs: number; signal?: AbortSignal };
/** One fake worker: `answer` is called for each attempt (n counts from 1) and returns a score or throws. */
function worker(address: string, answer: (n: number, o: Opts) => number | Promise<number>) {
  const seen: Opts[] = [];
  const ep = {
    address,
    client: {
      modelInfer: async (_req: unknown, o: Opts) => {
        seen.push(o);
        const score = await answer(seen.length, o);
        return { rawOutputContents: [floatBytes(new Float32Array([score]))] };
      },
    },
  } as unknown as WorkerEndpoint;
  return { ep, seen };
}
const pool = (...ws: { ep: WorkerEndpoint }[]) => ({ candidates: () => ws.map((w) => w.ep) });
const fail = (code: Code) => () => {
  throw new ConnectError("fake", code);
};
/** Retry options on a fake clock; the backoff sleeps are recorded and move the clock. */
function retrying(clock: FakeClock, o: RetryOptions = {}) {
  const slept: number[] = [];
  const opts: RetryOptions = {
    budgets: new RetryBudgets({ clock }),
    clock,
    random: () => 0.5,
    sleep: async (ms, signal) => {
      slept.push(ms);
      clock.t += ms;
      return !signal?.aborted;
    },
    ...o,
  };
  return { opts, slept };
}
const codeOf = (code: Code) => (err: unknown) => err instanceof ConnectError && err.code === code;

test("a retryable failure is retried on another replica", async () => {
  const clock = new FakeClock();
  const a = worker("a", fail(Code.Unavailable));
  const b = worker("b", () => 0.25);
  const { opts, slept } = retrying(clock);
  const scores = await callWorkers(pool(a, b), call(), undefined, opts);
  assert.deepEqual([...scores], [0.25]);
  assert.equal(a.seen.length, 1);
  assert.equal(b.seen.length, 1);
  assert.equal(slept.length, 1, "one backoff before the retry");
  assert.equal(opts.budgets!.for("m/1").stats().retries, 1, "the retry was taken from the model version's budget");
});

test("RESOURCE_EXHAUSTED and ABORTED are retried too; at most maxAttempts attempts, in the pool's order", async () => {
  const clock = new FakeClock();
  const ws = [
    worker("a", fail(Code.ResourceExhausted)),
    worker("b", fail(Code.Aborted)),
    worker("c", fail(Code.Unavailable)),
    worker("d", () => 1),
  ];
  const { opts } = retrying(clock);
  await assert.rejects(callWorkers(pool(...ws), call(), undefined, opts), codeOf(Code.Unavailable));
  assert.deepEqual(
    ws.map((w) => w.seen.length),
    [1, 1, 1, 0],
    "3 attempts by default",
  );
  const { opts: two } = retrying(clock, { maxAttempts: 2 });
  await assert.rejects(callWorkers(pool(...ws), call(), undefined, two), codeOf(Code.Aborted));
  assert.deepEqual(
    ws.map((w) => w.seen.length),
    [2, 2, 1, 0],
  );
});

test("with one worker, the retry goes to that worker", async () => {
  const clock = new FakeClock();
  const a = worker("a", (n) => {
    if (n < 3) throw new ConnectError("starting", Code.Unavailable);
    return 0.5;
  });
  const { opts } = retrying(clock);
  assert.deepEqual([...(await callWorkers(pool(a), call(), undefined, opts))], [0.5]);
  assert.equal(a.seen.length, 3);
});

test("non-retryable codes are not retried", async () => {
  for (const code of [
    Code.InvalidArgument,
    Code.DeadlineExceeded,
    Code.Internal,
    Code.NotFound,
    Code.FailedPrecondition,
  ]) {
    const clock = new FakeClock();
    const a = worker("a", fail(code));
    const b = worker("b", () => 1);
    const { opts, slept } = retrying(clock);
    await assert.rejects(callWorkers(pool(a, b), call(), undefined, opts), codeOf(code));
    assert.equal(b.seen.length, 0, `${Code[code]} was retried`);
    assert.equal(slept.length, 0);
  }
});

test("backoff: full jitter, exponential up to the cap", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((n) => backoffDelay(n, 5, 50, () => 1)),
    [5, 10, 20, 40, 50],
  );
  assert.deepEqual(
    [1, 2, 3].map((n) => backoffDelay(n, 5, 50, () => 0)),
    [0, 0, 0],
  );
  for (let n = 1; n < 10; n++) {
    const d = backoffDelay(n, 5, 50);
    assert.ok(d >= 0 && d <= Math.min(50, 5 * 2 ** (n - 1)), `retry ${n}: ${d}`);
  }
});

test("backoff delays between attempts lie in [0, cap] and every attempt fits in the deadline", async () => {
  for (const r of [0, 0.3, 0.999]) {
    const clock = new FakeClock();
    const ends: number[] = [];
    const a = worker("a", (_n, o) => {
      clock.t += 3;
      ends.push(clock.t + o.timeoutMs - 3);
      throw new ConnectError("down", Code.Unavailable);
    });
    const { opts, slept } = retrying(clock, {
      maxAttempts: 6,
      backoffBaseMs: 5,
      backoffMaxMs: 12,
      random: () => r,
      budgets: new RetryBudgets({ minRetriesPerSecond: 100, clock }),
    });
    await assert.rejects(callWorkers(pool(a), call({ timeoutMs: 200 }), undefined, opts), codeOf(Code.Unavailable));
    assert.equal(a.seen.length, 6);
    const caps = [5, 10, 12, 12, 12];
    assert.deepEqual(
      slept,
      caps.map((c) => r * c),
    );
    for (const [i, d] of slept.entries()) assert.ok(d >= 0 && d <= caps[i]!);
    for (const end of ends) assert.ok(end <= 200, `an attempt was given time past the deadline (${end} ms)`);
  }
});

test("no retry when its backoff would leave less than minAttemptMs of the deadline; the retry gets what is left", async () => {
  const slow = (clock: FakeClock) =>
    worker("a", () => {
      clock.t += 20;
      throw new ConnectError("down", Code.Unavailable);
    });
  let clock = new FakeClock();
  let a = slow(clock);
  let r = retrying(clock, { backoffBaseMs: 20, backoffMaxMs: 20, minAttemptMs: 10, random: () => 0.9 });
  await assert.rejects(callWorkers(pool(a), call({ timeoutMs: 40 }), undefined, r.opts), codeOf(Code.Unavailable));
  assert.equal(a.seen.length, 1, "20 ms left, an 18 ms backoff would leave 2 ms");
  assert.deepEqual(r.slept, []);

  clock = new FakeClock();
  a = slow(clock);
  r = retrying(clock, { backoffBaseMs: 20, backoffMaxMs: 20, minAttemptMs: 10, random: () => 0.25 });
  await assert.rejects(callWorkers(pool(a), call({ timeoutMs: 40 }), undefined, r.opts), codeOf(Code.Unavailable));
  assert.deepEqual(
    a.seen.map((o) => o.timeoutMs),
    [40, 15],
    "after 20 ms and a 5 ms backoff, 15 ms are left",
  );
});

test("an exhausted budget stops retries; refusals are counted and logged at most once a second", async () => {
  const clock = new FakeClock();
  const warned: unknown[] = [];
  const log = { warn: (o: unknown) => warned.push(o) } as unknown as NonNullable<RetryOptions["log"]>;
  const budgets = new RetryBudgets({ ratio: 0.5, minRetriesPerSecond: 0, clock });
  const a = worker("a", fail(Code.Unavailable));
  const b = worker("b", fail(Code.Unavailable));
  const { opts } = retrying(clock, { budgets, log });
  // Call 1: one first attempt earns 0.5 of a retry: refused. Call 2: two earn one retry, taken; its second retry
  // is refused. Call 3: 1.5 retries earned, one taken: refused.
  for (let i = 0; i < 3; i++)
    await assert.rejects(callWorkers(pool(a, b), call(), undefined, opts), codeOf(Code.Unavailable));
  assert.equal(a.seen.length + b.seen.length, 4, "3 first attempts and a single retry");
  assert.deepEqual(budgets.for("m/1").stats(), { firstAttempts: 3, retries: 1, available: 0, refused: 3 });
  assert.equal(warned.length, 1, "three refusals within a second, one log line");
  clock.t += 1000;
  await assert.rejects(callWorkers(pool(a, b), call(), undefined, opts), codeOf(Code.Unavailable));
  assert.equal(warned.length, 2);
  assert.equal(budgets.for("m/2").stats().firstAttempts, 0, "budgets are per model version");
});

test("a caller that has gone: no further attempt, the backoff ends at once", async () => {
  // Aborted during the backoff (a real timer of 10 s).
  const a = worker("a", fail(Code.Unavailable));
  const b = worker("b", () => 1);
  const ac = new AbortController();
  const t0 = performance.now();
  setTimeout(() => ac.abort(new ConnectError("caller went away", Code.Canceled)), 20);
  await assert.rejects(
    callWorkers(pool(a, b), call({ timeoutMs: 60_000, signal: ac.signal }), undefined, {
      backoffBaseMs: 10_000,
      backoffMaxMs: 10_000,
      random: () => 1,
    }),
    codeOf(Code.Canceled),
  );
  assert.ok(performance.now() - t0 < 2000, "the backoff was cut short");
  assert.equal(b.seen.length, 0);

  // Aborted during an attempt (which then failed with a retryable code): the attempt's permit is released, not
  // recorded, and there is no backoff, no retry, nobody else called.
  const clock = new FakeClock();
  const breakers = new BreakerBoard("t", { windowSize: 4, minimumCalls: 1, clock });
  const ac2 = new AbortController();
  const dying = worker("a", () => {
    ac2.abort(new ConnectError("caller went away", Code.Canceled));
    throw new ConnectError("connection reset", Code.Unavailable);
  });
  const c = worker("b", () => 1);
  const { opts, slept } = retrying(clock);
  await assert.rejects(
    callWorkers(pool(dying, c), call({ signal: ac2.signal }), breakers, opts),
    codeOf(Code.Canceled),
  );
  assert.equal(c.seen.length, 0);
  assert.deepEqual(slept, []);
  assert.equal(opts.budgets!.for("m/1").stats().retries, 0);
  assert.equal(breakers.breaker(breakerTarget("a", "m", "1")).rates().calls, 0);
});

test("abortableSleep resolves true after the wait, false at once on abort", async () => {
  assert.equal(await abortableSleep(5), true);
  const ac = new AbortController();
  ac.abort();
  assert.equal(await abortableSleep(10_000, ac.signal), false);
});

test("DEADLINE_EXCEEDED cut short by the caller's deadline does not open the breaker; a full-timeout one counts", async () => {
  const timesOut = (clock: FakeClock) =>
    worker("a", (_n, o) => {
      clock.t += o.timeoutMs;
      throw new ConnectError("deadline exceeded", Code.DeadlineExceeded);
    });
  const board = (clock: FakeClock, slowCallDurationMs = 10_000) =>
    new BreakerBoard("t", {
      windowSize: 4,
      minimumCalls: 4,
      failureRateThreshold: 0.5,
      slowCallDurationMs,
      slowCallRateThreshold: 0.8,
      clock,
    });
  const state = (b: BreakerBoard) => b.breaker(breakerTarget("a", "m", "1")).state;

  let clock = new FakeClock();
  let breakers = board(clock);
  let a = timesOut(clock);
  for (let i = 0; i < 4; i++) {
    await assert.rejects(
      callWorkers(pool(a), call({ timeoutMs: 200, workerTimeoutMs: 1000 }), breakers, retrying(clock).opts),
      codeOf(Code.DeadlineExceeded),
    );
  }
  assert.equal(state(breakers), "CLOSED", "the caller's deadline was shorter than the worker timeout");
  assert.equal(breakers.breaker(breakerTarget("a", "m", "1")).rates().failureRate, 0);

  for (const full of [{ workerTimeoutMs: 1000 }, {}]) {
    clock = new FakeClock();
    breakers = board(clock);
    a = timesOut(clock);
    for (let i = 0; i < 4; i++) {
      await assert.rejects(
        callWorkers(pool(a), call({ timeoutMs: 1000, ...full }), breakers, retrying(clock).opts),
        codeOf(Code.DeadlineExceeded),
      );
    }
    assert.equal(state(breakers), "OPEN", `the worker used all of the router's timeout (${JSON.stringify(full)})`);
  }

  // Still cut short by the caller, but long enough to be a slow call: the slow-call rate sees a worker that hangs.
  clock = new FakeClock();
  breakers = board(clock, 100);
  a = timesOut(clock);
  for (let i = 0; i < 4; i++) {
    await assert.rejects(
      callWorkers(pool(a), call({ timeoutMs: 200, workerTimeoutMs: 1000 }), breakers, retrying(clock).opts),
      codeOf(Code.DeadlineExceeded),
    );
  }
  assert.equal(state(breakers), "OPEN");
});

test("skipping an open breaker is not a retry: no budget, no backoff; all open: BreakersOpenError, nobody called", async () => {
  const clock = new FakeClock();
  const breakers = new BreakerBoard("t", { clock });
  breakers.breaker(breakerTarget("a", "m", "1")).forceOpen();
  const a = worker("a", () => 0);
  const b = worker("b", () => 0.75);
  const { opts, slept } = retrying(clock);
  assert.deepEqual([...(await callWorkers(pool(a, b), call(), breakers, opts))], [0.75]);
  assert.equal(a.seen.length, 0);
  assert.deepEqual(slept, []);
  assert.equal(opts.budgets!.for("m/1").stats().retries, 0);

  breakers.breaker(breakerTarget("b", "m", "1")).forceOpen();
  await assert.rejects(callWorkers(pool(a, b), call(), breakers, opts), (err) => err instanceof BreakersOpenError);
  assert.equal(a.seen.length + b.seen.length, 1);
  assert.equal(
    opts.budgets!.for("m/1").stats().firstAttempts,
    1,
    "a call refused by every breaker made no first attempt",
  );
});

test("a retry skips replicas whose breaker is open and goes back to the one that failed when it is the only one left", async () => {
  const clock = new FakeClock();
  const breakers = new BreakerBoard("t", { clock });
  breakers.breaker(breakerTarget("b", "m", "1")).forceOpen();
  const a = worker("a", (n) => {
    if (n === 1) throw new ConnectError("down", Code.Unavailable);
    return 0.5;
  });
  const b = worker("b", () => 0);
  assert.deepEqual([...(await callWorkers(pool(a, b), call(), breakers, retrying(clock).opts))], [0.5]);
  assert.equal(a.seen.length, 2);
  assert.equal(b.seen.length, 0);
});
