import type { Registry } from "prom-client";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { OutcomeBandState, type VersionOutcomes } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { ServiceHost } from "../../lib/service/index.js";
import type { DashboardFeed } from "../dashboard/feed.js";
import { registerOutcomeGauges } from "./outcome-gauges.js";
import type { OutcomeReporter } from "./outcome-report.js";

/**
 * The outcomes on the page and in the metrics: the gauges, and the dashboard's "outcomes" section from the
 * reporter's last answer, refreshed from the durable windows every `refreshMs` (stopped when the host closes).
 */
export function startOutcomeViews(
  report: OutcomeReporter,
  parts: { host: Pick<ServiceHost, "onClose">; registry: Registry; dashboard: Pick<DashboardFeed, "sections"> },
  refreshMs = 5000,
): void {
  registerOutcomeGauges(parts.registry, report);
  parts.dashboard.sections.set("outcomes", () => outcomeSection(report.latest));
  const timer = setInterval(() => void report.versions().catch(() => undefined), refreshMs);
  timer.unref();
  parts.host.onClose(() => clearInterval(timer));
}

/** /dashboard.json's outcomes: per version, its tiers (realised vs predicted, band state), calibration and AUCs. */
export function outcomeSection(versions: readonly VersionOutcomes[]) {
  return versions.map((v) => ({
    model: v.model,
    version: v.modelVersion,
    window_outcomes: Number(v.windowOutcomes),
    calibration_error: v.calibrationError,
    card_calibration_error: v.cardCalibrationError ?? null,
    rolling_auc: v.rollingAuc ?? null,
    card_auc: v.cardAuc ?? null,
    tiers: v.tiers.map((t) => ({
      tier: (Decision[t.tier] ?? "UNSPECIFIED").toLowerCase(),
      outcomes: Number(t.outcomes),
      realised_rate: t.realisedRate,
      predicted_rate: t.predictedRate,
      band: t.band,
      state: (OutcomeBandState[t.state] ?? "UNSPECIFIED").toLowerCase(),
    })),
  }));
}
