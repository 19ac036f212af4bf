import { ConfigError, EnvReader, readServiceTls, type ServiceTlsConfig } from "../lib/service/index.js";
import { readHopBatching, type HopBatchingConfig } from "../lib/batching/index.js";

/** Batching (VALIDATOR_BATCHING, VALIDATOR_BATCH_*): the rows of concurrent public calls for one model go in one ScoreRows call to the feature service. */
export interface ValidatorConfig extends HopBatchingConfig, ServiceTlsConfig {
  /** gRPC listener (grpc-js). */
  grpcAddress: string;
  /** HTTP listener (connect-node: Connect JSON and gRPC-Web). */
  httpAddress: string;
  modelRepository: string;
  featureAddr: string;
  /** Deadline for a call whose client sent none. */
  defaultTimeoutMs: number;
  /** Most rows in one ScoreBatch. */
  maxBatchRows: number;
  /** Largest request body either listener reads; larger ones get RESOURCE_EXHAUSTED before being parsed. */
  maxMessageBytes: number;
  drainTimeoutMs: number;
  /**
   * VALIDATOR_PUBLIC_TLS=on: both public listeners serve TLS with the validator's certificate (TLS_CERT_FILE), no
   * client certificate asked for; off (the default, for local development): plaintext for clients.
   */
  publicTls: boolean;
}

export function readConfig(env = new EnvReader()): ValidatorConfig {
  const config: ValidatorConfig = {
    grpcAddress: env.address("VALIDATOR_GRPC_ADDR", "127.0.0.1:50051"),
    httpAddress: env.address("VALIDATOR_HTTP_ADDR", "127.0.0.1:8080"),
    modelRepository: env.string("MODEL_REPOSITORY", "models"),
    featureAddr: env.address("VALIDATOR_FEATURE_ADDR"),
    defaultTimeoutMs: env.int("VALIDATOR_DEFAULT_TIMEOUT_MS", 2000, 1, 60_000),
    maxBatchRows: env.int("VALIDATOR_MAX_BATCH_ROWS", 256, 1, 10_000),
    maxMessageBytes: env.int("VALIDATOR_MAX_MESSAGE_BYTES", 4 << 20, 1024, 64 << 20),
    drainTimeoutMs: env.int("VALIDATOR_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
    ...readHopBatching(env, "VALIDATOR", { maxInFlight: 4 }),
    ...readServiceTls(env, "VALIDATOR"),
    publicTls: env.oneOf("VALIDATOR_PUBLIC_TLS", ["on", "off"], "off") === "on",
  };
  if (config.publicTls && config.tls.mode === "off")
    throw new ConfigError("VALIDATOR_PUBLIC_TLS", "on needs the validator's certificate: TLS_MODE=mtls and TLS_*_FILE");
  return config;
}
