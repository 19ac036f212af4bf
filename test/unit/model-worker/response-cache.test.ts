import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import pino from "pino";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { ModelRepository } from "../../../services/lib/model/index.js";
import { ModelRegistry } from "../../../services/model-worker/model-registry.js";
import { RowCache, rowKey } from "../../../services/model-worker/response-cache.js";

test("the row cache evicts the least recently used row and counts hits and misses", () => {
  const c = new RowCache<number>(2);
  c.set("a", 1);
  c.set("b", 2);
  assert.equal(c.get("a"), 1); // a is now the most recent
  c.set("c", 3); // evicts b
  assert.equal(c.get("b"), undefined);
  assert.deepEqual([c.get("a"), c.get("c"), c.size], [1, 3, 2]);
  assert.deepEqual([c.hits, c.misses], [3, 1]);
  const m = new Float32Array([1, 2, 3, 4]);
  assert.equal(rowKey(m, 1, 2), rowKey(new Float32Array([3, 4]), 0, 2));
  assert.notEqual(rowKey(m, 0, 2), rowKey(m, 1, 2));
});

test("with a cache, the worker runs only rows it has not seen and answers repeated ones from the cache", async () => {
  const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
  const reg = new ModelRegistry(
    repo,
    ["credit-default"],
    {
      sessionOptions: { intraOpNumThreads: 1 },
      providers: ["cpu"],
      batching: { enabled: false, maxBatchRows: 64, maxQueueDelayUs: 0, maxQueueRows: 64 },
      cacheRows: 100,
    },
    pino({ level: "silent" }),
  );
  try {
    await reg.sync();
    const lv = reg.resolve("credit-default", "1");
    const cols = lv.cols;
    const row = (seed: number) => Float32Array.from({ length: cols }, (_, i) => Math.sin(seed * 31 + i));
    const matrix = (...rows: Float32Array[]) => {
      const m = new Float32Array(rows.length * cols);
      rows.forEach((r, i) => m.set(r, i * cols));
      return m;
    };
    const [a, b, c] = [row(1), row(2), row(3)];
    const first = await reg.infer(lv, matrix(a, b), 2);
    const again = await reg.infer(lv, matrix(b, a), 2);
    const mixed = await reg.infer(lv, matrix(c, a), 2);
    const p = (out: typeof first) => Array.from(out.find((o) => o.name === lv.outputName)!.data as Float32Array);
    assert.deepEqual(p(again), [p(first)[1], p(first)[0]], "cached rows come back in the request's order");
    assert.equal(p(mixed)[1], p(first)[0]);
    const uncached = new ModelRegistry(
      repo,
      ["credit-default"],
      {
        sessionOptions: {},
        providers: ["cpu"],
        batching: { enabled: false, maxBatchRows: 64, maxQueueDelayUs: 0, maxQueueRows: 64 },
      },
      pino({ level: "silent" }),
    );
    await uncached.sync();
    const direct = await uncached.infer(uncached.resolve("credit-default", "1"), matrix(c), 1);
    assert.equal(p(mixed)[0], p(direct)[0], "a new row is scored by the model");
    await uncached.close();
    const s = lv.stats.toProto("credit-default", "1");
    assert.equal(s.executionCount, 2n, "the first call and the new row of the third ran; the second did not");
    assert.equal(s.inferenceCount, 3n, "rows run: a, b, then c");
    assert.equal(s.inferenceStats?.cacheHit?.count, 1n);
    assert.equal(s.inferenceStats?.cacheMiss?.count, 2n);
  } finally {
    await reg.close();
  }
});
