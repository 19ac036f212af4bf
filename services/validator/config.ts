import {
  ConfigError,
  EnvReader,
  natsIdentity,
  natsServers,
  trustedOperators,
  type NatsIdentity,
  type TrustedOperators,
} from "../lib/service/index.js";
import { readMetricsAddress, readServiceTls, type ServiceTlsConfig } from "../lib/service/index.js";
import { readHopBatching, type HopBatchingConfig } from "../lib/batching/index.js";
import { readAuditConfig, type AuditConfig } from "../lib/audit/index.js";
import type { IdempotencyLimits } from "./idempotency/idempotency-cache.js";

/** Batching (VALIDATOR_BATCHING, VALIDATOR_BATCH_*): the rows of concurrent public calls for one model go in one ScoreRows call to the feature service. */
export interface ValidatorConfig extends HopBatchingConfig, ServiceTlsConfig {
  /** Prometheus metrics on plaintext HTTP, GET /metrics (VALIDATOR_METRICS_ADDR); undefined: no listener. */
  metricsAddress?: string;
  /** gRPC listener (grpc-js). */
  grpcAddress: string;
  /** HTTP listener (connect-node: Connect JSON and gRPC-Web). */
  httpAddress: string;
  modelRepository: string;
  featureAddr: string;
  /** The monitor, where ReportOutcome goes (VALIDATOR_MONITOR_ADDR); empty: ReportOutcome is UNAVAILABLE. */
  monitorAddr: string;
  /** Deadline for a call whose client sent none. */
  defaultTimeoutMs: number;
  /** Most rows in one ScoreBatch. */
  maxBatchRows: number;
  /** Largest request body either listener reads; larger ones get RESOURCE_EXHAUSTED before being parsed. */
  maxMessageBytes: number;
  drainTimeoutMs: number;
  /** HTTP listener: time to receive a request's headers, a whole request, and idle keep-alive (slow clients). */
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  httpKeepAliveTimeoutMs: number;
  /** gRPC listener: most calls at once on one HTTP/2 connection. */
  maxConcurrentStreams: number;
  /** Browser origins allowed by CORS on the HTTP listener ("*": any); none by default. */
  corsOrigins: string[];
  /** Adaptive concurrency limit of the edge: bounds (max 0 turns it off) and the retry hint of a refusal. */
  concurrencyMin: number;
  concurrencyMax: number;
  /** Event-loop busy share (percent) over a window beyond which the limit is cut as on a drop; 100: never. */
  concurrencyBusyPercent: number;
  retryAfterMs: number;
  /** API keys and tenant limits on every call (VALIDATOR_AUTH=on, the default); off only when asked for. */
  auth: boolean;
  /** NATS, where tenants are and the edge's audit records go (NATS_URL; required while auth or the audit trail is on). */
  natsServers: string[];
  /**
   * The validator role's NATS identity (NATS_NKEY_SEED_FILE; required while auth or the audit trail is on): reads
   * tenants, writes usage, publishes the edge's audit chains.
   */
  natsIdentity: NatsIdentity | undefined;
  /** Whose signed tenant values it accepts (SCOREMESH_TRUSTED_OPERATORS_FILE; required while auth is on). */
  trustedOperators: TrustedOperators;
  /**
   * VALIDATOR_PUBLIC_TLS=on: both public listeners serve TLS with the validator's certificate (TLS_CERT_FILE), no
   * client certificate asked for; off (the default, for local development): plaintext for clients.
   */
  publicTls: boolean;
  /**
   * VALIDATOR_EDGE_RULES=on (the default): when no feature or router replica answers, the edge decides by the rules
   * baseline (services/validator/edge-rules.ts) and records each decision in its own audit trail (VALIDATOR_AUDIT_*);
   * off: the caller gets UNAVAILABLE and retries.
   */
  edgeRules: boolean;
  /**
   * The edge's durable audit trail (VALIDATOR_AUDIT_*, as ROUTER_AUDIT_*); absent without VALIDATOR_AUDIT_SPOOL_DIR:
   * the edge's rules decisions are then not audited (a warning at start says so).
   */
  audit?: AuditConfig;
  /** The edge's rules baseline: review band (keep it equal to ROUTER_REVIEW_BAND) and the time kept back for it, ms. */
  rulesReviewBand: number;
  rulesReserveMs: number;
  /** Idempotent retries (services/validator/idempotency/): window (0: off), most entries, most bytes (estimated). */
  idempotency: IdempotencyLimits;
}

function authOn(env: EnvReader): boolean {
  const v = env.string("VALIDATOR_AUTH", "on");
  if (v !== "on" && v !== "off") throw new ConfigError("VALIDATOR_AUTH", `must be on or off, got ${JSON.stringify(v)}`);
  return v === "on";
}

export function readConfig(env = new EnvReader()): ValidatorConfig {
  const config = readValues(env);
  if (config.httpHeadersTimeoutMs > config.httpRequestTimeoutMs) {
    throw new ConfigError("VALIDATOR_HTTP_HEADERS_TIMEOUT_MS", "must not exceed VALIDATOR_HTTP_REQUEST_TIMEOUT_MS");
  }
  if (config.concurrencyMax > 0 && config.concurrencyMin > config.concurrencyMax) {
    throw new ConfigError("VALIDATOR_CONCURRENCY_MIN", "must not exceed VALIDATOR_CONCURRENCY_MAX");
  }
  if (config.publicTls && config.tls.mode === "off")
    throw new ConfigError("VALIDATOR_PUBLIC_TLS", "on needs the validator's certificate: TLS_MODE=mtls and TLS_*_FILE");
  return config;
}

function readValues(env: EnvReader): ValidatorConfig {
  return {
    grpcAddress: env.address("VALIDATOR_GRPC_ADDR", "127.0.0.1:50051"),
    httpAddress: env.address("VALIDATOR_HTTP_ADDR", "127.0.0.1:8080"),
    modelRepository: env.string("MODEL_REPOSITORY", "models"),
    featureAddr: env.target("VALIDATOR_FEATURE_ADDR"),
    monitorAddr: env.optional("VALIDATOR_MONITOR_ADDR") ? env.target("VALIDATOR_MONITOR_ADDR") : "",
    defaultTimeoutMs: env.int("VALIDATOR_DEFAULT_TIMEOUT_MS", 2000, 1, 60_000),
    maxBatchRows: env.int("VALIDATOR_MAX_BATCH_ROWS", 256, 1, 10_000),
    maxMessageBytes: env.int("VALIDATOR_MAX_MESSAGE_BYTES", 4 << 20, 1024, 64 << 20),
    drainTimeoutMs: env.int("VALIDATOR_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
    httpHeadersTimeoutMs: env.int("VALIDATOR_HTTP_HEADERS_TIMEOUT_MS", 10_000, 100, 600_000),
    httpRequestTimeoutMs: env.int("VALIDATOR_HTTP_REQUEST_TIMEOUT_MS", 30_000, 100, 600_000),
    httpKeepAliveTimeoutMs: env.int("VALIDATOR_HTTP_KEEPALIVE_TIMEOUT_MS", 5000, 100, 600_000),
    maxConcurrentStreams: env.int("VALIDATOR_MAX_CONCURRENT_STREAMS", 1000, 1, 1_000_000),
    corsOrigins: env.list("VALIDATOR_CORS_ORIGINS"),
    concurrencyMin: env.int("VALIDATOR_CONCURRENCY_MIN", 8, 1, 100_000),
    concurrencyMax: env.int("VALIDATOR_CONCURRENCY_MAX", 1000, 0, 100_000),
    concurrencyBusyPercent: env.int("VALIDATOR_CONCURRENCY_BUSY_PERCENT", 90, 1, 100),
    retryAfterMs: env.int("VALIDATOR_RETRY_AFTER_MS", 1000, 1, 60_000),
    ...readHopBatching(env, "VALIDATOR", { maxInFlight: 4 }),
    ...readServiceTls(env, "VALIDATOR"),
    ...readMetricsAddress(env, "VALIDATOR"),
    publicTls: env.oneOf("VALIDATOR_PUBLIC_TLS", ["on", "off"], "off") === "on",
    ...auth(env),
    edgeRules: env.oneOf("VALIDATOR_EDGE_RULES", ["on", "off"], "on") === "on",
    audit: readAuditConfig(env, "VALIDATOR"),
    rulesReviewBand: env.fraction("VALIDATOR_REVIEW_BAND", 0.02),
    rulesReserveMs: env.int("VALIDATOR_RULES_RESERVE_MS", 25, 0, 10_000),
    idempotency: {
      windowMs: env.int("VALIDATOR_IDEMPOTENCY_WINDOW_MS", 600_000, 0, 86_400_000),
      maxEntries: env.int("VALIDATOR_IDEMPOTENCY_MAX_ENTRIES", 100_000, 1, 10_000_000),
      maxBytes: env.int("VALIDATOR_IDEMPOTENCY_MAX_BYTES", 64 * 2 ** 20, 1024, 16 * 2 ** 30),
    },
  };
}

/** API keys, and NATS: needed by the keys (tenants, usage) and by the edge's audit trail (shipping). */
function auth(env: EnvReader): Pick<ValidatorConfig, "auth" | "natsServers" | "natsIdentity" | "trustedOperators"> {
  const on = authOn(env);
  const nats = on || Boolean(env.optional("VALIDATOR_AUDIT_SPOOL_DIR"));
  return {
    auth: on,
    natsServers: nats ? natsServers(env) : [],
    natsIdentity: nats ? natsIdentity(env) : undefined,
    trustedOperators: on ? trustedOperators(env) : new Map(),
  };
}
