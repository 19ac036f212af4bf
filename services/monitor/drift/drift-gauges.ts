import { Gauge, type Registry } from "prom-client";
import type { DriftWatch, VersionDriftView } from "./drift-watch.js";

const STATE = { ok: 0, warn: 1, alert: 2 } as const;

/**
 * The drift readings on /metrics, read at each scrape (one reading serves every gauge of a scrape):
 * `scoremesh_feature_psi` and `scoremesh_feature_drift_state` per version, feature (the score, each input, each
 * protected attribute's segment) and window (absent below the minimum sample), and the confidence decay:
 * `scoremesh_review_band_share`, `scoremesh_threshold_distance_mean` per version and window.
 */
export function registerFeatureDriftGauges(registry: Registry, watch: DriftWatch, clock = Date.now): void {
  let cached: { at: number; views: VersionDriftView[] } | undefined;
  const views = () => {
    const now = clock();
    if (!cached || now - cached.at > 1000) cached = { at: now, views: watch.view() };
    return cached.views;
  };
  const labelNames = ["model", "version", "feature", "window"] as const;
  featureGauge(
    registry,
    "scoremesh_feature_psi",
    "Population stability index of a model version's feature (the score, an input, a protected attribute's segment) over a window against the card's reference profile (0.1 warn, 0.25 alert; absent below the minimum sample).",
    labelNames,
    views,
    (f) => f.psi,
  );
  featureGauge(
    registry,
    "scoremesh_feature_drift_state",
    "Drift state of a model version's feature over a window: 0 ok, 1 warn, 2 alert (absent below the minimum sample).",
    labelNames,
    views,
    (f) => STATE[f.level as keyof typeof STATE],
  );
  confidenceGauge(
    registry,
    "scoremesh_review_band_share",
    "Share of a model version's model scores in the review band (review <= score < decline) over a window.",
    views,
    "reviewShare",
  );
  confidenceGauge(
    registry,
    "scoremesh_threshold_distance_mean",
    "Mean distance of a model version's model scores from the nearest threshold over a window.",
    views,
    "meanThresholdDistance",
  );
}

function featureGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly ["model", "version", "feature", "window"],
  views: () => VersionDriftView[],
  value: (f: VersionDriftView["features"][number]) => number,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const v of views())
        for (const f of v.features)
          if (f.level !== "insufficient")
            this.set({ model: v.model, version: v.version, feature: f.feature, window: f.window }, value(f));
    },
  });
}

function confidenceGauge(
  registry: Registry,
  name: string,
  help: string,
  views: () => VersionDriftView[],
  key: "reviewShare" | "meanThresholdDistance",
): void {
  new Gauge({
    name,
    help,
    labelNames: ["model", "version", "window"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const v of views())
        for (const window of ["decisions", "time"] as const) {
          const x = v.confidence[window][key];
          if (x !== null) this.set({ model: v.model, version: v.version, window }, x);
        }
    },
  });
}
