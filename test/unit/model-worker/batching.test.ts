import { test } from "node:test";
import assert from "node:assert/strict";
import type { ModelCard } from "../../../services/lib/model/index.js";
import { versionBatching, warmUpSizes, type BatchingDefaults } from "../../../services/model-worker/batching.js";

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
    card({
      dynamic_batching: {
        max_batch_size: 64,
        preferred_batch_size: [32, 8, 128],
        max_queue_delay_microseconds: 500,
        max_queue_size: 100,
      },
    }),
    defaults,
  );
  assert.deepEqual(b, {
    enabled: true,
    maxBatchRows: 64,
    maxQueueDelayMs: 0.5,
    preferredBatchRows: [8, 32],
    maxQueueRows: 100,
  });
  assert.deepEqual(warmUpSizes(b), [1, 8, 32, 64]);
  assert.throws(
    () => versionBatching(card({ dynamic_batching: { max_batch_size: "big" } }), defaults),
    /max_batch_size/,
  );
});
