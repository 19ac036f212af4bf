import { Gauge, type Registry } from "prom-client";
import { OutcomeBandState } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { OutcomeReporter } from "./outcome-report.js";

const tierName = (t: Decision) => (Decision[t] ?? "UNSPECIFIED").toLowerCase();

/**
 * The outcome gauges, read from the durable windows at each scrape (the last answer while NATS is away):
 * realised and predicted default rate and band breach per tier, calibration error and rolling AUC per version.
 */
export function registerOutcomeGauges(registry: Registry, report: OutcomeReporter): void {
  // One read of the windows per scrape (the gauges' collects run within the same second).
  let read: { at: number; versions: Promise<OutcomeReporter["latest"]> } | undefined;
  const refresh = () => {
    if (!read || Date.now() - read.at > 1000)
      read = { at: Date.now(), versions: report.versions().catch(() => report.latest) };
    return read.versions;
  };
  const tierGauge = (
    name: string,
    help: string,
    value: (t: OutcomeReporter["latest"][0]["tiers"][0]) => number | undefined,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["model", "version", "tier"] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const v of await refresh())
          for (const t of v.tiers) {
            const x = value(t);
            if (x !== undefined) this.set({ model: v.model, version: v.modelVersion, tier: tierName(t.tier) }, x);
          }
      },
    });
  tierGauge(
    "scoremesh_outcome_realised_rate",
    "Realised default rate of a risk tier over the version's outcome window.",
    (t) => (t.outcomes > 0n ? t.realisedRate : undefined),
  );
  tierGauge(
    "scoremesh_outcome_predicted_rate",
    "Mean score (predicted default rate) of a risk tier's outcomes in the window.",
    (t) => (t.outcomes > 0n ? t.predictedRate : undefined),
  );
  tierGauge(
    "scoremesh_outcome_band_breached",
    "1 when a risk tier's realised default rate is outside its predicted rate ± the band; absent below MONITOR_OUTCOME_MIN_SAMPLE.",
    (t) =>
      t.state === OutcomeBandState.INSUFFICIENT || t.state === OutcomeBandState.UNSPECIFIED
        ? undefined
        : t.state === OutcomeBandState.WITHIN
          ? 0
          : 1,
  );
  const versionGauge = (name: string, help: string, value: (v: OutcomeReporter["latest"][0]) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ["model", "version"] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const v of await refresh()) {
          const x = value(v);
          if (x !== undefined) this.set({ model: v.model, version: v.modelVersion }, x);
        }
      },
    });
  versionGauge(
    "scoremesh_outcome_calibration_error",
    "Expected calibration error (10 equal-count bins) over the version's outcome window.",
    (v) => (v.windowOutcomes > 0n ? v.calibrationError : undefined),
  );
  versionGauge(
    "scoremesh_outcome_rolling_auc",
    "ROC AUC of the version's last MONITOR_OUTCOME_WINDOW outcomes.",
    (v) => v.rollingAuc,
  );
}
