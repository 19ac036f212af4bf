import {
  driftReading,
  SlidingCounts,
  TimeSlicedCounts,
  type DriftLevel,
  type DriftReading,
  type DriftThresholds,
} from "../../lib/stats/index.js";

/** What a reading is of: the score, a non-sensitive input, or a protected attribute's segment. */
export type DriftSubjectName = "score" | "input" | "segment";
/** Which window: the last N observations, or the last T seconds. */
export type DriftWindowName = "decisions" | "time";

/** How drift is read: PSI bands and the minimum sample, and the two windows. */
export interface DriftRule extends DriftThresholds {
  /** Observations per version and feature in the decisions window (MONITOR_DRIFT_WINDOW). */
  windowDecisions: number;
  /** Length of the time window in ms (MONITOR_DRIFT_WINDOW_SECONDS × 1000). */
  windowMs: number;
}

export const DEFAULT_DRIFT_RULE: DriftRule = {
  warn: 0.1,
  alert: 0.25,
  minSample: 500,
  windowDecisions: 1000,
  windowMs: 3_600_000,
};

/** One reading of one feature over one window, with since when its level holds. */
export interface FeatureReading extends DriftReading {
  feature: string;
  subject: DriftSubjectName;
  window: DriftWindowName;
  /** KS reported (continuous inputs and the score). */
  ksApplies: boolean;
  /** When the level became what it is (ms since the epoch). */
  since: number;
}

/**
 * One watched feature of one version: its reference counts and the live counts over both windows (incremental
 * bin counts: O(1) per observation), and the level of each window with the time it was first read.
 */
export class TrackedFeature {
  private readonly lastN: SlidingCounts;
  private readonly time: TimeSlicedCounts;
  private readonly levels: Record<DriftWindowName, { level: DriftLevel; since: number }>;

  constructor(
    readonly feature: string,
    readonly subject: DriftSubjectName,
    readonly reference: readonly number[],
    readonly ksApplies: boolean,
    rule: DriftRule,
    now: number,
  ) {
    this.lastN = new SlidingCounts(reference.length, rule.windowDecisions);
    this.time = new TimeSlicedCounts(reference.length, rule.windowMs);
    this.levels = { decisions: { level: "insufficient", since: now }, time: { level: "insufficient", since: now } };
  }

  add(bin: number, now: number): void {
    this.lastN.add(bin);
    this.time.add(bin, now);
  }

  /** Both windows' readings as of `now`; a level that changed since the last reading starts its `since` now. */
  read(now: number, t: DriftThresholds): FeatureReading[] {
    return [
      this.reading("decisions", this.lastN.counts(), now, t),
      this.reading("time", this.time.counts(now), now, t),
    ];
  }

  private reading(window: DriftWindowName, live: number[], now: number, t: DriftThresholds): FeatureReading {
    const r = driftReading(this.reference, live, t);
    const held = this.levels[window];
    if (held.level !== r.level) this.levels[window] = { level: r.level, since: now };
    const out = { ...r, feature: this.feature, subject: this.subject, window, ksApplies: this.ksApplies };
    if (!this.ksApplies) Object.assign(out, { ks: 0, ksSignificant: false });
    return { ...out, since: this.levels[window].since };
  }
}
