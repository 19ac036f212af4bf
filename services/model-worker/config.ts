import { EnvReader } from "../lib/config.js";

export interface WorkerConfig {
  /** gRPC listen address (OIP v2 + health). */
  address: string;
  /** The model repository folder. */
  modelRepository: string;
  /** Model families to serve; empty: every family in the repository. */
  models: string[];
  natsServers: string[];
  /** ONNX Runtime intra-op threads per session (the models are small: 1 is best on 2 cores). */
  intraOpThreads: number;
  drainTimeoutMs: number;
}

export function readConfig(env = new EnvReader()): WorkerConfig {
  return {
    address: env.address("WORKER_ADDR", "127.0.0.1:50081"),
    modelRepository: env.string("MODEL_REPOSITORY", "models"),
    models: env.string("WORKER_MODELS", " ").split(",").map((s) => s.trim()).filter(Boolean),
    natsServers: env.string("NATS_URL", "nats://127.0.0.1:4222").split(","),
    intraOpThreads: env.int("WORKER_INTRA_OP_THREADS", 1, 1, 64),
    drainTimeoutMs: env.int("WORKER_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
  };
}
