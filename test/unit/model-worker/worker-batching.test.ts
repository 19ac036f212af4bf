import { test } from "node:test";
import assert from "node:assert/strict";
import type { ModelCard } from "../../../services/lib/model/index.js";
import { versionBatching, warmUpSizes, type BatchingDefaults } from "../../../services/model-worker/batching.js";
import { createWithFallback, providerList } from "../../../services/model-worker/execution-providers.js";
import { readRetryDelayMs, retryInfo, RETRY_INFO_TYPE } from "../../../services/model-worker/retry-info.js";
import { VersionStatistics } from "../../../services/model-worker/statistics.js";

const defaults: BatchingDefaults = { enabled: true, maxBatchRows: 256, maxQueueDelayUs: 0, maxQueueRows: 8192 };
const card = (extra: object = {}) => ({ model: "m", version: "1", ...extra }) as unknown as ModelCard;

test("a card without dynamic_batching gets the worker's defaults", () => {
  assert.deepEqual(versionBatching(card(), defaults), {
    enabled: true,
    maxBatchRows: 256,
    maxQueueDelayMs: 0,
    preferredBatchRows: [],
    maxQueueRows: 8192,
  });
});

test("a card's dynamic_batching (Triton's names) overrides the defaults", () => {
  const b = versionBatching(
    card({ dynamic_batching: { max_batch_size: 64, preferred_batch_size: [32, 8, 128], max_queue_delay_microseconds: 500, max_queue_size: 100 } }),
    defaults,
  );
  assert.deepEqual(b, { enabled: true, maxBatchRows: 64, maxQueueDelayMs: 0.5, preferredBatchRows: [8, 32], maxQueueRows: 100 });
  assert.deepEqual(warmUpSizes(b), [1, 8, 32, 64]);
  assert.throws(() => versionBatching(card({ dynamic_batching: { max_batch_size: "big" } }), defaults), /max_batch_size/);
});

test("execution providers: auto picks CUDA only where it is installed; CPU always closes the list", () => {
  assert.deepEqual(providerList("auto", false), ["cpu"]);
  assert.deepEqual(providerList("auto", true), ["cuda", "cpu"]);
  assert.deepEqual(providerList("cuda", false), ["cuda", "cpu"]);
  assert.deepEqual(providerList("cpu,cuda", true), ["cpu", "cuda"]);
});

test("a provider that cannot load falls back to the next, and says why", async () => {
  const choice = await createWithFallback(["cuda", "cpu"], async (p) => {
    if (p === "cuda") throw new Error("Failed to load shared library\nmore detail");
    return `session on ${p}`;
  });
  assert.equal(choice.provider, "cpu");
  assert.equal(choice.session, "session on cpu");
  assert.deepEqual(choice.fallbacks, [{ provider: "cuda", error: "Failed to load shared library" }]);
  await assert.rejects(
    createWithFallback(["cpu"], async () => Promise.reject(new Error("bad model"))),
    /no execution provider could load the model \(cpu: bad model\)/,
  );
});

test("RetryInfo detail round-trips its delay", () => {
  const d = retryInfo(1234.5);
  assert.equal(d.type, RETRY_INFO_TYPE);
  assert.equal(readRetryDelayMs(d.value), 1234.5);
  assert.equal(readRetryDelayMs(retryInfo(3).value), 3);
});

test("statistics count rows, executions, per-request compute and per-batch-size entries", () => {
  const s = new VersionStatistics();
  s.arrived(1_700_000_000_000);
  s.executed(3, 2, 0.01, 0.02, 0.001);
  s.executed(1, 1, 0.01, 0.02, 0.001);
  s.success.add(0.5, 1);
  const p = s.toProto("m", "1");
  assert.equal(p.inferenceCount, 4n);
  assert.equal(p.executionCount, 2n);
  assert.equal(p.lastInference, 1_700_000_000_000n);
  assert.equal(p.inferenceStats?.computeInfer?.count, 3n, "one compute entry per request");
  assert.deepEqual(p.batchStats?.map((b) => b.batchSize), [1n, 3n]);
  assert.equal(p.inferenceStats?.success?.ns, 500_000n);
});
