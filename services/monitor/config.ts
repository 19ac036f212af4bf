import {
  ConfigError,
  EnvReader,
  natsIdentity,
  natsServers,
  trustedOperators,
  type NatsIdentity,
} from "../lib/service/index.js";
import type { TrustedOperators } from "../lib/nats/index.js";
import { readServiceTls, type ServiceTlsConfig } from "../lib/service/index.js";
import type { SegmentOptions } from "./dashboard/segments.js";
import { readRolloutConfig, type RolloutConfig } from "./rollout/config.js";
import { readAlertsConfig, type AlertsConfig } from "./alerts/config.js";
import { readDriftRule, type DriftRule } from "./drift/index.js";

export interface MonitorConfig extends ServiceTlsConfig {
  address: string;
  /** HTTP page (/), Prometheus metrics (/metrics) and JSON stats (/stats.json). */
  httpAddress: string;
  /** Append-only JSON Lines file of every decision record; empty: no audit file. */
  auditLogPath: string;
  drainTimeoutMs: number;
  /** Review cases kept in memory (the newest; decisions REVIEW), listed by ListReviews and `meshctl reviews`. */
  reviewQueueMax: number;
  /** NATS, for the model workers' records (the page's "Model workers" table); required, but the monitor serves while NATS is away. */
  natsServers: string[];
  /** Its NATS identity (NATS_NKEY_SEED_FILE): the monitor role reads worker records. */
  natsIdentity: NatsIdentity;
  /** The model repository (MODEL_REPOSITORY): the versions' reference profiles that drift is measured against. */
  modelRepository: string;
  /** Decisions per version in the score drift window (MONITOR_DRIFT_WINDOW). */
  driftWindow: number;
  /** Online drift per feature, score and segment, and confidence decay (MONITOR_DRIFT_*; docs/drift.md). */
  drift: DriftRule;
  /** The segment table's rule: MONITOR_SEGMENT_MIN_SAMPLE decisions per group, ratio bound MONITOR_SEGMENT_RATIO_BOUND. */
  segments: SegmentOptions;
  /** The reviewers whose signed claims and resolutions it accepts (SCOREMESH_TRUSTED_OPERATORS_FILE). */
  trustedOperators: TrustedOperators;
  /** Days a decision is kept for outcomes to be joined to it (MONITOR_DECISION_TTL_DAYS). */
  decisionTtlDays: number;
  /** Outcomes: the rolling window per version and the outcome-band rule (MONITOR_OUTCOME_*). */
  outcomes: OutcomeConfig;
  /** Cost per 1,000 decisions (MONITOR_COST_*, MONITOR_PRICE_*). */
  cost: CostConfig;
  /** The rollout controller (MONITOR_ROLLOUT_*); undefined: off (no operator key given). */
  rollout?: RolloutConfig;
  /** The alert engine (MONITOR_ALERTS_*; docs/alerts.md). */
  alerts: AlertsConfig;
}

/** The outcome windows and band rule (docs/outcomes.md). */
export interface OutcomeConfig {
  /** Outcomes per version in the rolling window (MONITOR_OUTCOME_WINDOW, default 1000). */
  window: number;
  /** Outcomes a tier needs in the window before its band says anything (MONITOR_OUTCOME_MIN_SAMPLE, default 200). */
  minSample: number;
  /** The least half-width of a tier's band around its predicted rate (MONITOR_OUTCOME_BAND, default 0.05). */
  band: number;
}

/** Cost per 1,000 decisions (docs/outcomes.md). */
export interface CostConfig {
  /** The /metrics URLs of every instance to scrape (MONITOR_COST_TARGETS); empty: cost is not measured. */
  targets: string[];
  /** How often they are scraped (MONITOR_COST_INTERVAL_MS, default 15000). */
  intervalMs: number;
  /** Price per core-hour and per GPU-hour (MONITOR_PRICE_CORE_HOUR 0.04, MONITOR_PRICE_GPU_HOUR 2.5). */
  prices: { coreHour: number; gpuHour: number };
}

export function readConfig(env = new EnvReader()): MonitorConfig {
  return {
    address: env.address("MONITOR_ADDR", "127.0.0.1:50091"),
    httpAddress: env.address("MONITOR_HTTP_ADDR", "127.0.0.1:9464"),
    auditLogPath: env.optional("MONITOR_AUDIT_LOG") ?? "",
    drainTimeoutMs: env.int("MONITOR_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
    reviewQueueMax: env.int("MONITOR_REVIEW_QUEUE_MAX", 1000, 1, 1_000_000),
    modelRepository: env.string("MODEL_REPOSITORY", "models"),
    driftWindow: env.int("MONITOR_DRIFT_WINDOW", 1000, 100, 1_000_000),
    drift: readDriftRule(env),
    segments: {
      minSample: env.int("MONITOR_SEGMENT_MIN_SAMPLE", 100, 1, 1_000_000),
      bound: ratioBound(env.optional("MONITOR_SEGMENT_RATIO_BOUND")),
    },
    decisionTtlDays: env.int("MONITOR_DECISION_TTL_DAYS", 400, 1, 3650),
    outcomes: {
      window: env.int("MONITOR_OUTCOME_WINDOW", 1000, 10, 20_000),
      minSample: env.int("MONITOR_OUTCOME_MIN_SAMPLE", 200, 1, 1_000_000),
      band: env.fraction("MONITOR_OUTCOME_BAND", 0.05),
    },
    cost: {
      targets: metricsUrls(env.list("MONITOR_COST_TARGETS")),
      intervalMs: env.int("MONITOR_COST_INTERVAL_MS", 15_000, 1000, 600_000),
      prices: {
        coreHour: price(env, "MONITOR_PRICE_CORE_HOUR", 0.04),
        gpuHour: price(env, "MONITOR_PRICE_GPU_HOUR", 2.5),
      },
    },
    natsServers: natsServers(env),
    ...readServiceTls(env, "MONITOR"),
    natsIdentity: natsIdentity(env),
    trustedOperators: trustedOperators(env),
    ...readRolloutConfig(env),
    alerts: readAlertsConfig(env),
  };
}

/** MONITOR_SEGMENT_RATIO_BOUND: a number in (0, 1]; default 0.8 (the four-fifths rule). */
function ratioBound(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 0.8;
  const v = Number(raw);
  if (!(v > 0 && v <= 1)) {
    throw new ConfigError("MONITOR_SEGMENT_RATIO_BOUND", `must be a number in (0, 1], got ${JSON.stringify(raw)}`);
  }
  return v;
}

/** A price: a finite number ≥ 0 (per hour, in any currency). */
function price(env: EnvReader, name: string, fallback: number): number {
  const raw = env.string(name, String(fallback));
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v) || v < 0)
    throw new ConfigError(name, `must be a number >= 0 (a price per hour), got ${JSON.stringify(raw)}`);
  return v;
}

/** MONITOR_COST_TARGETS: http(s) URLs of /metrics pages. */
function metricsUrls(list: string[]): string[] {
  const isHttp = (u: string) => {
    try {
      return ["http:", "https:"].includes(new URL(u).protocol);
    } catch {
      return false;
    }
  };
  for (const u of list) {
    if (!isHttp(u)) throw new ConfigError("MONITOR_COST_TARGETS", `${JSON.stringify(u)} is not an http(s) URL`);
  }
  return list;
}
