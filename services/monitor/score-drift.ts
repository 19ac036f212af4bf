import type { DecisionRecord } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { Histogram, ModelRepository } from "../lib/model/index.js";
import {
  binOf,
  DEFAULT_DRIFT_THRESHOLDS,
  driftReading,
  SlidingCounts,
  type DriftReading,
  type DriftThresholds,
} from "../lib/stats/index.js";

/** The score drift of one model version over its last `window` model-scored decisions. */
export interface ScoreDrift extends DriftReading {
  model: string;
  version: string;
}

interface Watched {
  model: string;
  version: string;
  reference: Histogram;
  window: SlidingCounts;
}

/** Routes whose score is the version's own model score (not a fallback model's, the rules', or a cached one). */
const MODEL_ROUTES = new Set<Route>([Route.PRIMARY, Route.CANARY]);

/**
 * Score drift, online: per model version, the scores of its last `window` decisions (champion and canary
 * routes, not degraded) against the score histogram of the version's reference profile (the card's
 * `profile.score`, from the held-out rows at training time). PSI decides the level with documented thresholds
 * (0.1 warn, 0.25 alert) once the window holds `minSample` decisions; a version without a profile is not watched.
 */
export class ScoreDriftWatch {
  private readonly watched = new Map<string, Watched | null>();

  constructor(
    private readonly repo: ModelRepository,
    private readonly window = 1000,
    private readonly thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
  ) {}

  add(r: DecisionRecord): void {
    if (r.degraded || !MODEL_ROUTES.has(r.route)) return;
    const w = this.watchedOf(r.model, r.modelVersion);
    w?.window.add(binOf(w.reference.edges, r.score));
  }

  readings(): ScoreDrift[] {
    const out: ScoreDrift[] = [];
    for (const w of this.watched.values()) {
      if (!w) continue;
      const reading = driftReading(w.reference.counts, w.window.counts(), this.thresholds);
      out.push({ model: w.model, version: w.version, ...reading });
    }
    return out;
  }

  private watchedOf(model: string, version: string): Watched | null {
    const key = `${model}/${version}`;
    let w = this.watched.get(key);
    if (w === undefined) {
      const reference = this.profileOf(model, version);
      w = reference
        ? { model, version, reference, window: new SlidingCounts(reference.edges.length + 1, this.window) }
        : null;
      this.watched.set(key, w);
    }
    return w;
  }

  private profileOf(model: string, version: string): Histogram | undefined {
    try {
      return this.repo.card(model, version).profile?.score;
    } catch {
      return undefined; // a version this monitor's repository does not hold: nothing to compare with
    }
  }
}
