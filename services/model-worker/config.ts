import { EnvReader, policyReaderNats, type PolicyReaderNats } from "../lib/service/index.js";
import { readMetricsAddress, readServiceTls, type ServiceTlsConfig } from "../lib/service/index.js";
import { readWorkerBatching, type WorkerBatchingConfig } from "../lib/batching/index.js";
import { readWorkerLabels } from "./worker-labels.js";

/** Batching (WORKER_BATCHING, WORKER_MAX_BATCH_ROWS, WORKER_MAX_QUEUE_*): concurrent requests per model version run together. */
/** NATS (PolicyReaderNats): the worker role reads policy and writes worker records. */
export interface WorkerConfig extends WorkerBatchingConfig, PolicyReaderNats, ServiceTlsConfig {
  /** Prometheus metrics on plaintext HTTP, GET /metrics (WORKER_METRICS_ADDR); undefined: no listener. */
  metricsAddress?: string;
  /** gRPC listen address (OIP v2 + health). */
  address: string;
  /** The model repository folder. */
  modelRepository: string;
  /** The local cache of versions published to NATS (MODEL_CACHE_DIR); undefined: a temporary folder of its own. */
  modelCacheDir?: string;
  /** Model families to serve; empty: every family in the repository. */
  models: string[];
  /** ONNX Runtime intra-op threads per session (the models are small: 1 is best on 2 cores). */
  intraOpThreads: number;
  /** "auto" (cuda,cpu where the CUDA provider is installed, else cpu) or a list such as "cuda,cpu". */
  executionProviders: string;
  /** Rows whose outputs are kept per model version, keyed on the exact feature vector (0: no cache). */
  cacheRows: number;
  drainTimeoutMs: number;
  /** Pool labels (WORKER_LABELS, e.g. "gpu"); empty: derived from the active execution provider (worker-labels.ts). */
  labels: string[];
}

export function readConfig(env = new EnvReader()): WorkerConfig {
  const providers = env.string("WORKER_EXECUTION_PROVIDERS", "auto");
  if (providers !== "auto") {
    for (const p of providers.split(",").map((s) => s.trim())) {
      // Checked here so that a typo stops the worker rather than silently running on CPU.
      new EnvReader({ WORKER_EXECUTION_PROVIDERS: p }).oneOf(
        "WORKER_EXECUTION_PROVIDERS",
        ["cuda", "tensorrt", "cpu"],
        "cpu",
      );
    }
  }
  return {
    address: env.address("WORKER_ADDR", "127.0.0.1:50081"),
    modelRepository: env.string("MODEL_REPOSITORY", "models"),
    modelCacheDir: env.optional("MODEL_CACHE_DIR"),
    models: env.list("WORKER_MODELS"),
    ...policyReaderNats(env),
    intraOpThreads: env.int("WORKER_INTRA_OP_THREADS", 1, 1, 64),
    executionProviders: providers,
    ...readWorkerBatching(env, "WORKER"),
    cacheRows: env.int("WORKER_CACHE_ROWS", 0, 0, 10_000_000),
    drainTimeoutMs: env.int("WORKER_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
    labels: readWorkerLabels(env),
    ...readServiceTls(env, "WORKER"),
    ...readMetricsAddress(env, "WORKER"),
  };
}
