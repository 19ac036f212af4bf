import { EnvReader } from "../lib/service/index.js";
import { readMetricsAddress, readServiceTls, type ServiceTlsConfig } from "../lib/service/index.js";
import { readHopBatching, type HopBatchingConfig } from "../lib/batching/index.js";

/** Batching (FEATURE_BATCHING, FEATURE_BATCH_*): the rows of concurrent ScoreRows calls for one model go in one Route call to the router. */
export interface FeatureConfig extends HopBatchingConfig, ServiceTlsConfig {
  /** Prometheus metrics on plaintext HTTP, GET /metrics (FEATURE_METRICS_ADDR); undefined: no listener. */
  metricsAddress?: string;
  address: string;
  modelRepository: string;
  routerAddr: string;
  /** Deadline of the router call when the caller sent none. */
  defaultTimeoutMs: number;
  drainTimeoutMs: number;
  /**
   * Folder of entity snapshots, one subfolder per model family (<dir>/<model>/snapshot-*.jsonl); empty: each
   * family's entities/ folder in the model repository.
   */
  entitySnapshotDir: string;
  /** How often to look for a new snapshot file; 0: only at start. */
  entityPollMs: number;
  /** Larger snapshot files are refused. */
  entityMaxBytes: number;
  /** How often to log the snapshot's freshness; 0: only when one is loaded. */
  entityFreshnessLogMs: number;
}

export function readConfig(env = new EnvReader()): FeatureConfig {
  return {
    address: env.address("FEATURE_ADDR", "127.0.0.1:50061"),
    modelRepository: env.string("MODEL_REPOSITORY", "models"),
    routerAddr: env.target("FEATURE_ROUTER_ADDR"),
    defaultTimeoutMs: env.int("FEATURE_DEFAULT_TIMEOUT_MS", 2000, 1, 60_000),
    drainTimeoutMs: env.int("FEATURE_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
    entitySnapshotDir: env.optional("FEATURE_ENTITY_SNAPSHOT_DIR") ?? "",
    entityPollMs: env.int("FEATURE_ENTITY_POLL_MS", 5000, 0, 3_600_000),
    entityMaxBytes: env.int("FEATURE_ENTITY_MAX_BYTES", 256 * 1024 * 1024, 1, 4 * 1024 * 1024 * 1024),
    entityFreshnessLogMs: env.int("FEATURE_ENTITY_FRESHNESS_LOG_MS", 60_000, 0, 86_400_000),
    ...readHopBatching(env, "FEATURE", { maxInFlight: 4 }),
    ...readServiceTls(env, "FEATURE"),
    ...readMetricsAddress(env, "FEATURE"),
  };
}
