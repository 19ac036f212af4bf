import type { ModelCard } from "../lib/model/index.js";

/**
 * Dynamic batching settings a model card may carry, named as in Triton's model configuration:
 *
 *   "dynamic_batching": { "max_batch_size": 256, "preferred_batch_size": [64, 128],
 *                         "max_queue_delay_microseconds": 200, "max_queue_size": 8192 }
 *
 * Every field is optional; the worker's settings (WORKER_MAX_BATCH_ROWS, ...) fill in the rest.
 */
export interface CardBatching {
  max_batch_size?: number;
  preferred_batch_size?: number[];
  max_queue_delay_microseconds?: number;
  /** Most rows waiting in the queue; beyond, requests are refused with RESOURCE_EXHAUSTED. */
  max_queue_size?: number;
}

/** The worker-wide defaults (from WorkerConfig). */
export interface BatchingDefaults {
  enabled: boolean;
  maxBatchRows: number;
  maxQueueDelayUs: number;
  maxQueueRows: number;
}

/** The batching of one model version: the card's settings over the worker's defaults. */
export interface VersionBatching {
  enabled: boolean;
  maxBatchRows: number;
  maxQueueDelayMs: number;
  preferredBatchRows: number[];
  maxQueueRows: number;
}

function positiveInt(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
    throw new Error(`card dynamic_batching.${what} must be a non-negative integer`);
  return v;
}

/** Reads a card's `dynamic_batching` (throws naming the field when it is malformed). */
export function versionBatching(card: ModelCard, d: BatchingDefaults): VersionBatching {
  const c = (card as ModelCard & { dynamic_batching?: CardBatching }).dynamic_batching ?? {};
  const maxBatchRows = Math.max(1, positiveInt(c.max_batch_size, "max_batch_size") ?? d.maxBatchRows);
  const preferred = (c.preferred_batch_size ?? []).map((n, i) => positiveInt(n, `preferred_batch_size[${i}]`)!);
  return {
    enabled: d.enabled,
    maxBatchRows,
    maxQueueDelayMs:
      (positiveInt(c.max_queue_delay_microseconds, "max_queue_delay_microseconds") ?? d.maxQueueDelayUs) / 1000,
    preferredBatchRows: preferred.filter((n) => n >= 1 && n <= maxBatchRows).sort((a, b) => a - b),
    maxQueueRows: positiveInt(c.max_queue_size, "max_queue_size") ?? d.maxQueueRows,
  };
}

/** The batch sizes a version runs during warm-up: 1, its preferred sizes and its largest batch. */
export function warmUpSizes(b: VersionBatching): number[] {
  return [...new Set([1, ...b.preferredBatchRows, b.maxBatchRows])].sort((x, y) => x - y);
}
