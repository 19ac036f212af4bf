import type { EnvReader } from "../service/index.js";

/**
 * The batching settings of a hop in a service's config, read from `<PREFIX>_BATCHING` (on/off),
 * `<PREFIX>_BATCH_WINDOW_US`, `<PREFIX>_BATCH_MAX_ROWS` and `<PREFIX>_BATCH_MAX_IN_FLIGHT`.
 */
export interface HopBatchingConfig {
  /** Gather the rows of concurrent calls for one key into one downstream call. */
  batching: boolean;
  /** How long the first call of a batch waits for more (µs; 0: only calls already there or arriving while batches are in flight). */
  batchWindowUs: number;
  batchMaxRows: number;
  /** Downstream calls in flight at once per key when batching. */
  batchMaxInFlight: number;
}

/**
 * The model worker's batching settings, named as its variables: `<PREFIX>_BATCHING` (on/off),
 * `<PREFIX>_MAX_BATCH_ROWS`, `<PREFIX>_MAX_QUEUE_DELAY_US` and `<PREFIX>_MAX_QUEUE_ROWS`.
 */
export interface WorkerBatchingConfig {
  /** Dynamic batching of concurrent requests per model version (a card's `dynamic_batching` overrides the rest). */
  batching: boolean;
  maxBatchRows: number;
  maxQueueDelayUs: number;
  maxQueueRows: number;
}

/** The rules every batching variable follows, whatever its service: one place for each default and range. */
const batchingSwitch = (env: EnvReader, name: string) => env.oneOf(name, ["on", "off"], "on") === "on";
const windowUs = (env: EnvReader, name: string) => env.int(name, 0, 0, 1_000_000);
const maxRows = (env: EnvReader, name: string) => env.int(name, 256, 1, 65_536);

/**
 * Reads a hop's batching settings (see `HopBatchingConfig`); `maxInFlight` is the default of
 * `<PREFIX>_BATCH_MAX_IN_FLIGHT`.
 *
 * @example
 *   return { ...readHopBatching(env, "VALIDATOR", { maxInFlight: 4 }), ... };
 */
export function readHopBatching(
  env: EnvReader,
  prefix: string,
  { maxInFlight }: { maxInFlight: number },
): HopBatchingConfig {
  return {
    batching: batchingSwitch(env, `${prefix}_BATCHING`),
    batchWindowUs: windowUs(env, `${prefix}_BATCH_WINDOW_US`),
    batchMaxRows: maxRows(env, `${prefix}_BATCH_MAX_ROWS`),
    batchMaxInFlight: env.int(`${prefix}_BATCH_MAX_IN_FLIGHT`, maxInFlight, 1, 1024),
  };
}

/** Reads the model worker's batching settings (see `WorkerBatchingConfig`), e.g. `readWorkerBatching(env, "WORKER")`. */
export function readWorkerBatching(env: EnvReader, prefix: string): WorkerBatchingConfig {
  return {
    batching: batchingSwitch(env, `${prefix}_BATCHING`),
    maxBatchRows: maxRows(env, `${prefix}_MAX_BATCH_ROWS`),
    maxQueueDelayUs: windowUs(env, `${prefix}_MAX_QUEUE_DELAY_US`),
    maxQueueRows: env.int(`${prefix}_MAX_QUEUE_ROWS`, 8192, 1, 10_000_000),
  };
}
