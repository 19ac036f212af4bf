import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { BatchMetrics, Batcher } from "../../../../services/lib/batching/index.js";

test("batch sizes are observed per batch; queue depth and refusals are read from the batcher at a scrape", async () => {
  const registry = new Registry();
  const hop = new BatchMetrics(registry).batcher("worker");
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const b = new Batcher<number, number>(
    async (reqs) => {
      await gate;
      return reqs.map((r) => r.input);
    },
    { maxBatchRows: 4, maxQueueRows: 4, onBatch: hop.onBatch },
  );
  hop.watch(() => ({ "m/1": b.stats() }));
  const calls = [1, 2, 3].map((n) => b.submit(n, 1, { deadline: performance.now() + 5000 }));
  await new Promise((r) => setImmediate(r));
  const more = [4, 5, 6].map((n) => b.submit(n, 2, { deadline: performance.now() + 5000 }).catch(() => "shed"));
  const text = await registry.metrics();
  assert.match(text, /^scoremesh_batch_in_flight\{batcher="worker",key="m\/1"\} 1$/m);
  assert.match(text, /^scoremesh_batch_refused_total\{batcher="worker",key="m\/1",reason="shed"\} [1-9]/m);
  assert.match(text, /^scoremesh_batch_queue_rows\{batcher="worker",key="m\/1"\} [1-9]/m);
  release();
  await Promise.all([...calls, ...more]);
  const after = await registry.metrics();
  assert.match(after, /^scoremesh_batch_size_rows_sum\{batcher="worker"\} [1-9]/m);
  assert.match(after, /^scoremesh_batch_queue_rows\{batcher="worker",key="m\/1"\} 0$/m);
});
