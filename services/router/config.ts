import { EnvReader } from "../lib/config.js";

export interface RouterConfig {
  address: string;
  modelRepository: string;
  workerAddrs: string[];
  monitorAddr: string;
  natsServers: string[];
  /** Deadline of one worker call (the caller's remaining time, if shorter, wins). */
  workerTimeoutMs: number;
  /** How often buffered decision records are sent to the monitor. */
  monitorFlushMs: number;
  /** Records kept while the monitor is slow or away; beyond it records are counted as dropped. */
  monitorQueueMax: number;
  /** Gather the rows of concurrent Route calls for one model version into one ModelInfer. */
  batching: boolean;
  /** How long the first row of a batch waits for more (µs; 0: only rows already there or arriving while batches are in flight). */
  batchWindowUs: number;
  batchMaxRows: number;
  /** ModelInfer calls in flight at once per model version when batching. */
  batchMaxInFlight: number;
  drainTimeoutMs: number;
}

export function readConfig(env = new EnvReader()): RouterConfig {
  return {
    address: env.address("ROUTER_ADDR", "127.0.0.1:50071"),
    modelRepository: env.string("MODEL_REPOSITORY", "models"),
    workerAddrs: env.addresses("ROUTER_WORKER_ADDRS", "127.0.0.1:50081"),
    monitorAddr: env.address("ROUTER_MONITOR_ADDR", "127.0.0.1:50091"),
    natsServers: env.string("NATS_URL", "nats://127.0.0.1:4222").split(","),
    workerTimeoutMs: env.int("ROUTER_WORKER_TIMEOUT_MS", 1000, 1, 60_000),
    monitorFlushMs: env.int("ROUTER_MONITOR_FLUSH_MS", 100, 1, 60_000),
    monitorQueueMax: env.int("ROUTER_MONITOR_QUEUE_MAX", 50_000, 1, 10_000_000),
    batching: env.oneOf("ROUTER_BATCHING", ["on", "off"], "on") === "on",
    batchWindowUs: env.int("ROUTER_BATCH_WINDOW_US", 0, 0, 1_000_000),
    batchMaxRows: env.int("ROUTER_BATCH_MAX_ROWS", 256, 1, 65_536),
    batchMaxInFlight: env.int("ROUTER_BATCH_MAX_IN_FLIGHT", 2, 1, 1024),
    drainTimeoutMs: env.int("ROUTER_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
  };
}
