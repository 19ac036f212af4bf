import { before, test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { HopBatcher, type HopCall } from "../../../../services/lib/batching/hop-batcher.js";
import { FakeClock } from "../../../support/fake-clock.js";

const spans = new InMemorySpanExporter();
before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] }));
});

/** A downstream that answers each row with its double, and records every call and the trace it ran in. */
function setup(opts: { windowMs?: number; maxRows?: number; maxInFlight?: number } = {}) {
  const clock = new FakeClock();
  const calls: (HopCall<number> & { traceId: string | undefined })[] = [];
  let fail: Error | undefined;
  const hop = new HopBatcher<number, number>(
    async (c) => {
      calls.push({ ...c, traceId: trace.getActiveSpan()?.spanContext().traceId });
      if (fail) throw fail;
      return c.rows.map((x) => 2 * x);
    },
    { name: "test/Hop", clock, ...opts },
  );
  return { clock, calls, hop, failWith: (e: Error) => (fail = e) };
}

/** Runs `fn` inside a fresh root span, as a server handler runs inside its call's span. */
function inSpan<T>(name: string, fn: (traceId: string) => Promise<T>): Promise<T> {
  const span = trace.getTracer("t").startSpan(name);
  return context
    .with(trace.setSpan(context.active(), span), () => fn(span.spanContext().traceId))
    .finally(() => span.end());
}

test("rows of concurrent calls for one key go downstream in one call; each caller gets its own answers, in order", async () => {
  const { clock, calls, hop } = setup();
  const p1 = hop.call("m", [1, 2], { timeoutMs: 105 });
  const p2 = hop.call("m", [3], { timeoutMs: 100 });
  const p3 = hop.call("other", [4], { timeoutMs: 100 });
  await clock.advance(0);
  assert.deepEqual(await p1, [2, 4]);
  assert.deepEqual(await p2, [6]);
  assert.deepEqual(await p3, [8]);
  assert.equal(calls.length, 2, "one downstream call per key");
  const m = calls.find((c) => c.key === "m")!;
  assert.deepEqual(m.rows, [1, 2, 3]);
  assert.equal(m.timeoutMs, 100, "the batch goes with the earliest deadline of its callers");
  const stats = hop.stats();
  assert.deepEqual(Object.keys(stats).sort(), ["m@26", "other@26"], "one batcher per key and deadline bucket");
  assert.deepEqual([stats["m@26"]!.batches, stats["m@26"]!.requestsRun, stats["m@26"]!.rowsRun], [1, 2, 3]);
});

test("calls with very different time left do not share a batch: each batch's deadline suits all its callers", async () => {
  const { clock, calls, hop } = setup();
  const ps = [
    hop.call("m", [1], { timeoutMs: 100 }),
    hop.call("m", [2], { timeoutMs: 1000 }),
    hop.call("m", [3], { timeoutMs: 110 }),
  ];
  await clock.advance(0);
  assert.deepEqual(await Promise.all(ps), [[2], [4], [6]]);
  assert.deepEqual(
    calls.map((c) => [c.rows, c.timeoutMs]).sort((a, b) => Number(a[1]) - Number(b[1])),
    [
      [[1], 100],
      [[3], 110],
      [[2], 1000],
    ],
    "100 and 110 ms are a quarter-octave apart, 1000 ms far more: three batches",
  );
});

test("a caller whose deadline passes while its batch is in flight gets DEADLINE_EXCEEDED then, not when the batch ends", async () => {
  const clock = new FakeClock();
  let release!: () => void;
  const hop = new HopBatcher<number, number>(
    async (c) => {
      await new Promise<void>((r) => (release = r));
      return c.rows;
    },
    { name: "test/Hop", clock },
  );
  const p = hop.call("m", [1], { timeoutMs: 50 });
  const outcome = p.then(
    () => "answered",
    (e: unknown) => Code[ConnectError.from(e).code],
  );
  await clock.advance(50);
  release(); // the batch answers only now: the caller had its answer already
  assert.equal(await outcome, "DeadlineExceeded");
});

test("an idle batcher adds no wait; the window holds the first call for more, up to the row limit", async () => {
  const { clock, calls, hop } = setup({ windowMs: 2, maxRows: 3 });
  const ps = [[1], [2, 3], [4]].map((rows) => hop.call("m", rows, { timeoutMs: 100 }));
  await clock.advance(0);
  assert.deepEqual(
    calls.map((c) => c.rows),
    [[1, 2, 3]],
    "three rows fill a batch at once",
  );
  await clock.advance(2);
  assert.deepEqual(
    calls.map((c) => c.rows),
    [[1, 2, 3], [4]],
    "the last goes when the window closes",
  );
  assert.deepEqual(await Promise.all(ps), [[2], [4, 6], [8]]);
});

test("calls that arrive while the batches in flight are at the limit form the next batch", async () => {
  const clock = new FakeClock();
  const sent: number[][] = [];
  const gates: (() => void)[] = [];
  const hop = new HopBatcher<number, number>(
    async (c) => {
      sent.push(c.rows);
      await new Promise<void>((r) => gates.push(r));
      return c.rows;
    },
    { name: "test/Hop", clock, maxInFlight: 1 },
  );
  const first = hop.call("m", [1], { timeoutMs: 100 });
  await clock.advance(0);
  const rest = [2, 3, 4].map((x) => hop.call("m", [x], { timeoutMs: 100 }));
  await clock.advance(0);
  assert.deepEqual(sent, [[1]], "one in flight at a time");
  gates.shift()!();
  await first;
  await clock.advance(0);
  assert.deepEqual(sent, [[1], [2, 3, 4]]);
  gates.shift()!();
  assert.deepEqual(await Promise.all(rest), [[2], [3], [4]]);
});

test("a failure downstream reaches every caller of the batch with its code", async () => {
  const { clock, hop, failWith } = setup();
  failWith(new ConnectError("router is away", Code.Unavailable));
  const ps = [hop.call("m", [1], { timeoutMs: 100 }), hop.call("m", [2], { timeoutMs: 100 })];
  await clock.advance(0);
  for (const p of ps) await assert.rejects(p, (e: unknown) => ConnectError.from(e).code === Code.Unavailable);
});

test("a call whose deadline passes in the queue is dropped with DEADLINE_EXCEEDED; a full queue sheds with RESOURCE_EXHAUSTED", async () => {
  const { clock, calls, hop } = setup({ windowMs: 50, maxRows: 100 });
  const late = hop.call("m", [1], { timeoutMs: 10 });
  await clock.advance(50);
  await assert.rejects(late, (e: unknown) => ConnectError.from(e).code === Code.DeadlineExceeded);
  assert.equal(calls.length, 0, "nothing was sent for it");

  const small = new HopBatcher<number, number>(async (c) => c.rows, {
    name: "test/Hop",
    clock,
    windowMs: 50,
    maxRows: 2,
    maxQueueRows: 2,
  });
  const queued = small.call("m", [1], { timeoutMs: 1000 });
  const ok = small.call("m", [2], { timeoutMs: 1000 });
  await assert.rejects(
    small.call("m", [3], { timeoutMs: 1000 }),
    (e: unknown) => ConnectError.from(e).code === Code.ResourceExhausted,
  );
  await clock.advance(0);
  assert.deepEqual([await queued, await ok], [[1], [2]]);
});

test("the downstream call is cancelled only once every caller of the batch has gone", async () => {
  const { clock, calls, hop } = setup();
  const a = new AbortController();
  const b = new AbortController();
  const pa = hop.call("m", [1], { timeoutMs: 100, signal: a.signal });
  const pb = hop.call("m", [2], { timeoutMs: 100, signal: b.signal });
  const pc = hop.call("m", [3], { timeoutMs: 100, signal: new AbortController().signal });
  await clock.advance(0);
  assert.deepEqual(await Promise.all([pa, pb, pc]), [[2], [4], [6]]);
  const sig = calls[0]!.signal;
  a.abort();
  assert.equal(sig.aborted, false, "one caller left: still wanted");
  b.abort();
  assert.equal(sig.aborted, false, "the third caller is still there");

  const gone = new AbortController();
  const lone = hop.call("m", [5], { timeoutMs: 100, signal: gone.signal });
  await clock.advance(0);
  await lone;
  gone.abort();
  assert.equal(calls[1]!.signal.aborted, true, "its only caller has gone");
});

test("a batch of one call runs in that call's trace; a batch of several runs under a span linked to every caller", async () => {
  const { clock, calls, hop } = setup();
  spans.reset();
  const alone = inSpan("alone", async (id) => {
    const p = hop.call("m", [1], { timeoutMs: 100 });
    await clock.advance(0);
    await p;
    return id;
  });
  const aloneTrace = await alone;
  assert.equal(calls[0]!.traceId, aloneTrace, "the downstream call ran in the caller's own trace");
  assert.equal(
    spans.getFinishedSpans().filter((s) => s.name.startsWith("batch ")).length,
    0,
    "no extra span for a batch of one",
  );

  const ids: string[] = [];
  const ps = [1, 2, 3].map((x) =>
    inSpan(`caller ${x}`, (id) => {
      ids.push(id);
      return hop.call("m", [x], { timeoutMs: 100 });
    }),
  );
  await clock.advance(0);
  await Promise.all(ps);
  const batch = spans.getFinishedSpans().find((s) => s.name === "batch test/Hop");
  assert.ok(batch, "a batch span");
  assert.equal(batch.spanContext().traceId, ids[0], "in the first caller's trace");
  assert.deepEqual(batch.links.map((l) => l.context.traceId).sort(), [...ids].sort(), "linked to every caller");
  assert.equal(batch.attributes["scoremesh.batch.calls"], 3);
  assert.equal(calls[1]!.traceId, ids[0], "the downstream call ran under the batch span");
});
