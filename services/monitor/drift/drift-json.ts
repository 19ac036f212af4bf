import type { ConfidenceFigures } from "./confidence.js";
import type { DriftWatch } from "./drift-watch.js";

/** The `drift` section of /dashboard.json: the rule, and per version each feature's readings and the confidence decay. */
export function driftJson(watch: DriftWatch) {
  const r = watch.rule;
  return {
    rule: {
      psi_warn: r.warn,
      psi_alert: r.alert,
      min_sample: r.minSample,
      window_decisions: r.windowDecisions,
      window_seconds: Math.round(r.windowMs / 1000),
    },
    versions: watch.view().map((v) => ({
      model: v.model,
      version: v.version,
      features: v.features.map((f) => ({
        feature: f.feature,
        subject: f.subject,
        window: f.window,
        psi: f.psi,
        level: f.level,
        sample: f.sample,
        ks: f.ksApplies ? f.ks : null,
        ks_significant: f.ksApplies ? f.ksSignificant : null,
        since: new Date(f.since).toISOString(),
      })),
      confidence: {
        review: v.confidence.review,
        decline: v.confidence.decline,
        reference_review_share: v.confidence.referenceReviewShare,
        decisions: figures(v.confidence.decisions),
        time: figures(v.confidence.time),
        series: v.confidence.series.map((p) => ({ start: new Date(p.start).toISOString(), ...figures(p) })),
      },
    })),
  };
}

function figures(f: ConfidenceFigures) {
  return { scored: f.scored, review_share: f.reviewShare, mean_threshold_distance: f.meanThresholdDistance };
}
