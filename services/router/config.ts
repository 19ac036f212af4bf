import { ConfigError, EnvReader, policyReaderNats, type PolicyReaderNats } from "../lib/service/index.js";
import { readMetricsAddress, readServiceTls, type ServiceTlsConfig } from "../lib/service/index.js";
import { readHopBatching, type HopBatchingConfig } from "../lib/batching/index.js";
import { readAuditConfig, type AuditConfig } from "../lib/audit/index.js";

/** Batching (ROUTER_BATCHING, ROUTER_BATCH_*): the rows of concurrent Route calls for one model version go in one ModelInfer. */
/** NATS (PolicyReaderNats): the router role reads policy and writes breaker state. */
export interface RouterConfig extends HopBatchingConfig, PolicyReaderNats, ServiceTlsConfig {
  /** Prometheus metrics on plaintext HTTP, GET /metrics (ROUTER_METRICS_ADDR); undefined: no listener. */
  metricsAddress?: string;
  address: string;
  modelRepository: string;
  /** The local cache of versions published to NATS (MODEL_CACHE_DIR); undefined: a temporary folder of its own. */
  modelCacheDir?: string;
  /** host:port entries, or dns:///host:port: every address the name resolves to (WorkerDiscovery). */
  workerAddrs: string[];
  /** How often a dns:/// entry of workerAddrs is resolved again, ms. */
  workerResolveMs: number;
  /** How often the workers' grpc.health.v1 is polled, ms. */
  workerHealthIntervalMs: number;
  monitorAddr: string;
  /** Deadline of one worker call (the caller's remaining time, if shorter, wins). */
  workerTimeoutMs: number;
  /** How often buffered decision records are sent to the monitor. */
  monitorFlushMs: number;
  /** Records kept while the monitor is slow or away; beyond it records are counted as dropped. */
  monitorQueueMax: number;
  drainTimeoutMs: number;
  /** Circuit breakers per worker endpoint and model version (ROUTER_BREAKER_*). */
  breaker: {
    windowSize: number;
    minimumCalls: number;
    failureRateThreshold: number;
    slowCallDurationMs: number;
    slowCallRateThreshold: number;
    waitInOpenMs: number;
    halfOpenTrialCalls: number;
  };
  /** Retries of worker calls that did not reach a model (ROUTER_RETRY_*), on another worker, within a budget per model version. */
  retry: {
    /** Attempts in all, the first included. */
    maxAttempts: number;
    /** Retries allowed per first attempt over the last 10 s (0.2: at most 20 % extra load). */
    budgetRatio: number;
    /** Retries per second allowed whatever the traffic. */
    minPerSecond: number;
    /** Backoff before retry n: random × min(max, base × 2^(n-1)), ms. */
    backoffBaseMs: number;
    backoffMaxMs: number;
  };
  /** The fallback model version per model (ROUTER_FALLBACK_VERSIONS "model=version,..."); "auto": the lowest logistic-regression version; "none": no fallback model step. */
  fallbackVersions: "auto" | "none" | Map<string, string>;
  /** Time of the caller's deadline kept back for the rules baseline, ms. */
  rulesReserveMs: number;
  /** A degraded decision (fallback model or rules) whose score is within this of a threshold goes to review. */
  reviewBand: number;
  /** The durable audit trail (ROUTER_AUDIT_*, audit/audit-config.ts); absent without ROUTER_AUDIT_SPOOL_DIR. */
  audit?: AuditConfig;
}

function fallbackVersions(env: EnvReader): RouterConfig["fallbackVersions"] {
  const raw = env.string("ROUTER_FALLBACK_VERSIONS", "auto");
  if (raw === "auto" || raw === "none") return raw;
  const out = new Map<string, string>();
  for (const part of raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9._-]+)=([A-Za-z0-9._-]+)$/.exec(part);
    if (!m)
      throw new ConfigError(
        "ROUTER_FALLBACK_VERSIONS",
        `must be auto, none or model=version[,...], got ${JSON.stringify(raw)}`,
      );
    out.set(m[1]!, m[2]!);
  }
  return out;
}

/** ROUTER_WORKER_ADDRS: a list of host:port or dns:///host:port entries (an ipv4: list is already a list). */
function workerTargets(env: EnvReader): string[] {
  env.string("ROUTER_WORKER_ADDRS"); // unset: "is required but not set"
  const list = env.list("ROUTER_WORKER_ADDRS");
  if (list.length === 0) throw new ConfigError("ROUTER_WORKER_ADDRS", "must list at least one host:port");
  for (const entry of list) {
    if (entry.startsWith("ipv4:"))
      throw new ConfigError("ROUTER_WORKER_ADDRS", `lists workers as host:port entries, not ${JSON.stringify(entry)}`);
    new EnvReader({ ROUTER_WORKER_ADDRS: entry }).target("ROUTER_WORKER_ADDRS");
  }
  return list;
}

export function readConfig(env = new EnvReader()): RouterConfig {
  const config: RouterConfig = {
    address: env.address("ROUTER_ADDR", "127.0.0.1:50071"),
    modelRepository: env.string("MODEL_REPOSITORY", "models"),
    modelCacheDir: env.optional("MODEL_CACHE_DIR"),
    workerAddrs: workerTargets(env),
    workerResolveMs: env.int("ROUTER_WORKER_RESOLVE_MS", 5000, 100, 600_000),
    workerHealthIntervalMs: env.int("ROUTER_WORKER_HEALTH_INTERVAL_MS", 500, 10, 600_000),
    monitorAddr: env.target("ROUTER_MONITOR_ADDR"),
    ...policyReaderNats(env),
    workerTimeoutMs: env.int("ROUTER_WORKER_TIMEOUT_MS", 1000, 1, 60_000),
    monitorFlushMs: env.int("ROUTER_MONITOR_FLUSH_MS", 100, 1, 60_000),
    monitorQueueMax: env.int("ROUTER_MONITOR_QUEUE_MAX", 50_000, 1, 10_000_000),
    ...readHopBatching(env, "ROUTER", { maxInFlight: 2 }),
    drainTimeoutMs: env.int("ROUTER_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
    breaker: {
      windowSize: env.int("ROUTER_BREAKER_WINDOW", 20, 1, 10_000),
      minimumCalls: env.int("ROUTER_BREAKER_MIN_CALLS", 10, 1, 10_000),
      failureRateThreshold: env.fraction("ROUTER_BREAKER_FAILURE_RATE", 0.5),
      slowCallDurationMs: env.int("ROUTER_BREAKER_SLOW_CALL_MS", 500, 1, 600_000),
      slowCallRateThreshold: env.fraction("ROUTER_BREAKER_SLOW_CALL_RATE", 0.8),
      waitInOpenMs: env.int("ROUTER_BREAKER_OPEN_MS", 2000, 1, 600_000),
      halfOpenTrialCalls: env.int("ROUTER_BREAKER_HALF_OPEN_CALLS", 3, 1, 1000),
    },
    retry: {
      maxAttempts: env.int("ROUTER_RETRY_MAX_ATTEMPTS", 3, 1, 10),
      budgetRatio: env.fraction("ROUTER_RETRY_BUDGET_RATIO", 0.2),
      minPerSecond: env.int("ROUTER_RETRY_MIN_PER_SECOND", 10, 0, 1_000_000),
      backoffBaseMs: env.int("ROUTER_RETRY_BACKOFF_BASE_MS", 5, 0, 60_000),
      backoffMaxMs: env.int("ROUTER_RETRY_BACKOFF_MAX_MS", 50, 0, 60_000),
    },
    fallbackVersions: fallbackVersions(env),
    rulesReserveMs: env.int("ROUTER_RULES_RESERVE_MS", 25, 0, 60_000),
    reviewBand: env.fraction("ROUTER_REVIEW_BAND", 0.02),
    ...readServiceTls(env, "ROUTER"),
    audit: readAuditConfig(env),
    ...readMetricsAddress(env, "ROUTER"),
  };
  if (config.breaker.minimumCalls > config.breaker.windowSize) {
    throw new ConfigError(
      "ROUTER_BREAKER_MIN_CALLS",
      `must not exceed ROUTER_BREAKER_WINDOW (${config.breaker.windowSize}), got ${config.breaker.minimumCalls}`,
    );
  }
  if (config.retry.backoffBaseMs > config.retry.backoffMaxMs) {
    throw new ConfigError(
      "ROUTER_RETRY_BACKOFF_BASE_MS",
      `must not exceed ROUTER_RETRY_BACKOFF_MAX_MS (${config.retry.backoffMaxMs}), got ${config.retry.backoffBaseMs}`,
    );
  }
  return config;
}
