import { ConfigError, type EnvReader } from "../../lib/service/index.js";

/** The alert engine's settings (MONITOR_ALERTS_*), read once at start. */
export interface AlertsConfig {
  /** Milliseconds between evaluations; 0: the engine is off (MONITOR_ALERTS_INTERVAL_MS, default 5000). */
  intervalMs: number;
  /** Beyond the threshold this long before pending becomes firing (MONITOR_ALERTS_HOLD_MS, default 30000). */
  holdMs: number;
  /** A fraction of the threshold a firing value must get back past to clear (MONITOR_ALERTS_HYSTERESIS, 0.1). */
  hysteresis: number;
  /** Decisions per version in the error-rate and p99 window (MONITOR_ALERTS_WINDOW, default 1000)… */
  window: number;
  /** …no older than this (MONITOR_ALERTS_WINDOW_MS, default 600000: 10 minutes). */
  windowMs: number;
  /** Decisions that window needs before its rules may leave ok (MONITOR_ALERTS_MIN_SAMPLE, default 200). */
  minSample: number;
  /** Degraded share above which error_rate fires (MONITOR_ALERTS_ERROR_RATE, default 0.05). */
  errorRate: number;
  /** Router p99 (ms) above which latency_p99 fires (MONITOR_ALERTS_P99_MS, default 250). */
  p99Ms: number;
}

export function readAlertsConfig(env: EnvReader): AlertsConfig {
  const window = env.int("MONITOR_ALERTS_WINDOW", 1000, 10, 1_000_000);
  const minSample = env.int("MONITOR_ALERTS_MIN_SAMPLE", 200, 1, 1_000_000);
  if (minSample > window)
    throw new ConfigError(
      "MONITOR_ALERTS_MIN_SAMPLE",
      `must not exceed MONITOR_ALERTS_WINDOW (${window}), got ${minSample}`,
    );
  return {
    intervalMs: env.int("MONITOR_ALERTS_INTERVAL_MS", 5000, 0, 3_600_000),
    holdMs: env.int("MONITOR_ALERTS_HOLD_MS", 30_000, 0, 86_400_000),
    hysteresis: env.fraction("MONITOR_ALERTS_HYSTERESIS", 0.1),
    window,
    windowMs: env.int("MONITOR_ALERTS_WINDOW_MS", 600_000, 1000, 86_400_000),
    minSample,
    errorRate: env.fraction("MONITOR_ALERTS_ERROR_RATE", 0.05),
    p99Ms: env.int("MONITOR_ALERTS_P99_MS", 250, 1, 600_000),
  };
}
