import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ModelCard } from "../../../../services/lib/model/index.js";
import { WorkerBatcher } from "../../../../services/router/workers/worker-batcher.js";
import type { WorkerCall } from "../../../../services/router/workers/worker-call.js";
import { FakeClock } from "../../../support/fake-clock.js";

const card = { features: ["a", "b"], onnx: { inputs: [{ name: "x" }], score_output: "p" } } as unknown as ModelCard;
/** A fake worker: the score of a row is the sum of its two features. */
function setup(opts = {}) {
  const clock = new FakeClock();
  const calls: WorkerCall[] = [];
  const b = new WorkerBatcher(
    async (c) => {
      calls.push(c);
      const out = new Float32Array(c.rows);
      for (let i = 0; i < c.rows; i++) out[i] = c.matrix[2 * i]! + c.matrix[2 * i + 1]!;
      return out;
    },
    { clock, ...opts },
  );
  return { clock, calls, b };
}

test("rows of concurrent callers for one version go in one ModelInfer; each caller gets its own scores", async () => {
  const { clock, calls, b } = setup({ workerTimeoutMs: 1000 });
  const p1 = b.score("m", "1", card, new Float32Array([1, 2]), 1, { timeoutMs: 100 });
  const p2 = b.score("m", "1", card, new Float32Array([3, 4, 5, 6]), 2, { timeoutMs: 300 });
  const p3 = b.score("m", "2", card, new Float32Array([7, 8]), 1, { timeoutMs: 100 });
  await clock.advance(0);
  assert.deepEqual([...(await p1)], [3]);
  assert.deepEqual([...(await p2)], [7, 11]);
  assert.deepEqual([...(await p3)], [15]);
  assert.equal(calls.length, 2, "one call per version");
  const v1 = calls.find((c) => c.version === "1")!;
  assert.equal(v1.rows, 3);
  assert.equal(v1.timeoutMs, 300, "the batch's deadline is the latest of its callers'");
});

test("the window holds the first row for more, up to the row limit", async () => {
  const { clock, calls, b } = setup({ windowMs: 1, maxRows: 2 });
  const ps = [1, 2, 3].map((x) => b.score("m", "1", card, new Float32Array([x, 0]), 1, { timeoutMs: 100 }));
  await clock.advance(0);
  assert.deepEqual(
    calls.map((c) => c.rows),
    [2],
    "two rows fill a batch at once",
  );
  await clock.advance(1);
  assert.deepEqual(
    calls.map((c) => c.rows),
    [2, 1],
    "the third goes when the window closes",
  );
  assert.deepEqual(
    (await Promise.all(ps)).map((s) => s[0]),
    [1, 2, 3],
  );
});

test("a worker error reaches every caller of the batch; an expired caller gets DEADLINE_EXCEEDED", async () => {
  const clock = new FakeClock();
  const b = new WorkerBatcher(async () => Promise.reject(new ConnectError("no worker", Code.Unavailable)), {
    clock,
    windowMs: 5,
  });
  const late = b.score("m", "1", card, new Float32Array([1, 2]), 1, { timeoutMs: 2 });
  const p = b.score("m", "1", card, new Float32Array([1, 2]), 1, { timeoutMs: 100 });
  await clock.advance(5);
  await assert.rejects(late, (e: unknown) => ConnectError.from(e).code === Code.DeadlineExceeded);
  await assert.rejects(p, (e: unknown) => ConnectError.from(e).code === Code.Unavailable);
});

test("the worker call is cancelled once every caller of its batch has gone, not before", async () => {
  const { clock, calls, b } = setup();
  const a = new AbortController();
  const c = new AbortController();
  const pa = b.score("m", "1", card, new Float32Array([1, 2]), 1, { timeoutMs: 100, signal: a.signal });
  const pc = b.score("m", "1", card, new Float32Array([3, 4]), 1, { timeoutMs: 100, signal: c.signal });
  await clock.advance(0);
  await Promise.all([pa, pc]);
  const sig = calls[0]!.signal!;
  a.abort();
  assert.equal(sig.aborted, false, "one caller is still there");
  c.abort();
  assert.equal(sig.aborted, true, "both have gone");
});

test("a caller whose time runs out while its batch's worker call is in flight gives up then; the others get their scores", async () => {
  const clock = new FakeClock();
  let release!: () => void;
  const b = new WorkerBatcher(
    async (c) => {
      await new Promise<void>((r) => (release = r));
      return new Float32Array(c.rows).fill(0.5);
    },
    { clock, workerTimeoutMs: 1000 },
  );
  const short = b.score("m", "1", card, new Float32Array([1, 2]), 1, { timeoutMs: 50 });
  const long = b.score("m", "1", card, new Float32Array([3, 4]), 1, { timeoutMs: 500 });
  const shortOutcome = short.then(
    () => "scored",
    (e: unknown) => Code[ConnectError.from(e).code],
  );
  await clock.advance(50);
  release(); // the worker answers only now
  assert.equal(
    await shortOutcome,
    "DeadlineExceeded",
    "the short caller went on to its cascade's next step at its own deadline",
  );
  assert.deepEqual([...(await long)], [0.5]);
});
