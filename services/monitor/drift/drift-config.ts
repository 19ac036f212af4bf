import { ConfigError, type EnvReader } from "../../lib/service/index.js";
import type { DriftRule } from "./tracked-feature.js";

/**
 * The drift rule from MONITOR_DRIFT_*: the decisions window (MONITOR_DRIFT_WINDOW, default 1000), the time window
 * (MONITOR_DRIFT_WINDOW_SECONDS, default 3600), the minimum sample before any state (MONITOR_DRIFT_MIN_SAMPLE,
 * default 500) and the PSI bands (MONITOR_DRIFT_PSI_WARN 0.1, MONITOR_DRIFT_PSI_ALERT 0.25; warn below alert).
 */
export function readDriftRule(env: EnvReader): DriftRule {
  const windowDecisions = env.int("MONITOR_DRIFT_WINDOW", 1000, 100, 1_000_000);
  const rule: DriftRule = {
    windowDecisions,
    windowMs: env.int("MONITOR_DRIFT_WINDOW_SECONDS", 3600, 60, 7 * 86_400) * 1000,
    minSample: env.int("MONITOR_DRIFT_MIN_SAMPLE", Math.min(500, windowDecisions), 1, windowDecisions),
    warn: env.fraction("MONITOR_DRIFT_PSI_WARN", 0.1),
    alert: env.fraction("MONITOR_DRIFT_PSI_ALERT", 0.25),
  };
  if (!(rule.warn > 0 && rule.warn < rule.alert))
    throw new ConfigError(
      "MONITOR_DRIFT_PSI_WARN",
      `must be above 0 and below MONITOR_DRIFT_PSI_ALERT (${rule.alert}), got ${rule.warn}`,
    );
  return rule;
}
