import type { DecisionRecord } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { ModelRepository } from "../../lib/model/index.js";
import type { DriftLevel } from "../../lib/stats/index.js";
import type { ConfidenceFigures } from "./confidence.js";
import {
  DEFAULT_DRIFT_RULE,
  type DriftRule,
  type DriftSubjectName,
  type DriftWindowName,
  type FeatureReading,
} from "./tracked-feature.js";
import { VersionDrift } from "./version-drift.js";

/** One drift state, as an alert rule reads it. */
export interface DriftState {
  model: string;
  version: string;
  /** "score", an input's name (e.g. "PAY_0") or a segment's (e.g. "age_band"). */
  feature: string;
  subject: DriftSubjectName;
  window: DriftWindowName;
  psi: number;
  /** "insufficient" below the minimum sample; else ok, warn (PSI ≥ 0.1) or alert (PSI ≥ 0.25). */
  state: DriftLevel;
  sample: number;
  /** When the state became what it is (ms since the epoch). */
  since: number;
}

/** What the alert engine reads: every drift state of a model's versions (of every model without one). */
export interface DriftStateSource {
  driftStates(model?: string): DriftState[];
}

/** The drift of one version as GetDrift, /dashboard.json and meshctl drift show it. */
export interface VersionDriftView {
  model: string;
  version: string;
  features: FeatureReading[];
  confidence: {
    review: number;
    decline: number;
    referenceReviewShare: number;
    decisions: ConfidenceFigures;
    time: ConfidenceFigures;
    series: (ConfidenceFigures & { start: number })[];
  };
}

interface Entry {
  drift: VersionDrift;
  /** When its states were last read (ms). */
  readAt: number;
}

/**
 * Online drift of every model version the monitor sees that has a reference profile (the card's `profile`):
 * the score, every non-sensitive input and every protected attribute's segment, over the last N decisions and
 * the last T, and the confidence decay. A record costs a binary search and two counter updates per feature; the
 * states are read (PSI over the bins) at most every `readEveryMs` as records come (so that `since` is current to
 * that) and on every read; a version without a profile is not watched.
 */
export class DriftWatch implements DriftStateSource {
  private readonly versions = new Map<string, Entry | null>();

  constructor(
    private readonly repo: Pick<ModelRepository, "card" | "spec">,
    readonly rule: DriftRule = DEFAULT_DRIFT_RULE,
    private readonly clock: () => number = Date.now,
    private readonly readEveryMs = 1000,
  ) {}

  add(r: DecisionRecord): void {
    const e = this.entryOf(r.model, r.modelVersion);
    if (!e) return;
    const now = this.clock();
    e.drift.add(r, now);
    if (now - e.readAt >= this.readEveryMs) {
      e.readAt = now;
      e.drift.readings(now);
    }
  }

  driftStates(model?: string): DriftState[] {
    return this.view(model).flatMap((v) =>
      v.features.map((f) => ({
        model: v.model,
        version: v.version,
        feature: f.feature,
        subject: f.subject,
        window: f.window,
        psi: f.psi,
        state: f.level,
        sample: f.sample,
        since: f.since,
      })),
    );
  }

  /** Every watched version (of `model`, if given) with its readings as of now. */
  view(model?: string): VersionDriftView[] {
    const now = this.clock();
    const out: VersionDriftView[] = [];
    for (const e of this.versions.values()) {
      if (!e || (model !== undefined && e.drift.model !== model)) continue;
      e.readAt = now;
      const d = e.drift;
      const overTime = d.confidence.overTime(now);
      out.push({
        model: d.model,
        version: d.version,
        features: d.readings(now),
        confidence: {
          ...d.confidence.band,
          referenceReviewShare: d.referenceReviewShare,
          decisions: d.confidence.lastScores(),
          time: overTime.total,
          series: overTime.series,
        },
      });
    }
    return out;
  }

  private entryOf(model: string, version: string): Entry | null {
    const key = `${model}/${version}`;
    let e = this.versions.get(key);
    if (e === undefined) {
      const drift = this.driftOf(model, version);
      e = drift ? { drift, readAt: this.clock() } : null;
      this.versions.set(key, e);
    }
    return e;
  }

  private driftOf(model: string, version: string): VersionDrift | undefined {
    try {
      const card = this.repo.card(model, version);
      if (!card.profile) return undefined;
      return new VersionDrift(model, version, card, this.repo.spec(model), this.rule, this.clock());
    } catch {
      return undefined; // a version this monitor's repository does not hold: nothing to compare with
    }
  }
}
