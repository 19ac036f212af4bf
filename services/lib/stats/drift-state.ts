import { psi } from "./psi.js";
import { ksCritical, ksDistance } from "./ks.js";

/** Thresholds of a drift check: PSI bands, and the smallest window that may say anything at all. */
export interface DriftThresholds {
  /** PSI at or above which the state is "warn" (default 0.1). */
  warn: number;
  /** PSI at or above which the state is "alert" (default 0.25). */
  alert: number;
  /** Fewer observations than this: "insufficient", whatever the PSI (default 500). */
  minSample: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = { warn: 0.1, alert: 0.25, minSample: 500 };

export type DriftLevel = "insufficient" | "ok" | "warn" | "alert";

export interface DriftReading {
  level: DriftLevel;
  psi: number;
  ks: number;
  /** Whether the KS distance is significant at 1 % for these sample sizes. */
  ksSignificant: boolean;
  sample: number;
}

/**
 * How far a window of live counts has moved from the reference counts over the same bins. A small window never
 * alerts (a few hundred draws from the reference itself give PSI around 0.02–0.05 by chance); PSI decides the
 * level, KS says whether the difference is beyond chance for these sample sizes.
 */
export function driftReading(
  reference: readonly number[],
  live: readonly number[],
  t: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): DriftReading {
  const sample = live.reduce((s, c) => s + c, 0);
  const refRows = reference.reduce((s, c) => s + c, 0);
  const p = psi(reference, live);
  const ks = ksDistance(reference, live);
  const level: DriftLevel =
    sample < t.minSample ? "insufficient" : p >= t.alert ? "alert" : p >= t.warn ? "warn" : "ok";
  return { level, psi: p, ks, ksSignificant: ks > ksCritical(refRows, sample), sample };
}
