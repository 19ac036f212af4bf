import { create } from "@bufbuild/protobuf";
import {
  OutcomeBandState,
  VersionOutcomesSchema,
  type OutcomeWindow,
  type VersionOutcomes,
} from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { ModelRepository } from "../../lib/model/index.js";
import { summarize, type OutcomeBandOptions } from "./outcome-window.js";

/** What the outcome-band rule reads of one tier (the alert engine's input). */
export interface OutcomeBandReading {
  model: string;
  version: string;
  /** The risk tier: the decision band, "approve", "review" or "decline". */
  tier: string;
  state: "insufficient" | "within" | "above" | "below";
  /** Realised default rate, predicted rate (mean score) and the band's half-width, over the window. */
  realised: number;
  predicted: number;
  band: number;
  /** Outcomes of the tier in the window. */
  outcomes: number;
}

const STATES: Record<OutcomeBandState, OutcomeBandReading["state"]> = {
  [OutcomeBandState.UNSPECIFIED]: "insufficient",
  [OutcomeBandState.INSUFFICIENT]: "insufficient",
  [OutcomeBandState.WITHIN]: "within",
  [OutcomeBandState.ABOVE]: "above",
  [OutcomeBandState.BELOW]: "below",
};

/** The source of the windows: the outcome desk (NATS KV), or anything else that lists them. */
export interface OutcomeWindows {
  windows(model?: string): Promise<OutcomeWindow[]>;
}

/**
 * Outcomes per version, computed on demand from the durable windows (so every monitor replica answers the same),
 * with the card's holdout AUC and calibration error beside them. `latest` keeps the last answer for the page and
 * the gauges.
 */
export class OutcomeReporter {
  latest: VersionOutcomes[] = [];

  constructor(
    private readonly source: OutcomeWindows,
    private readonly opts: OutcomeBandOptions,
    private readonly repo?: ModelRepository,
  ) {}

  /** Every version's outcomes (of `model` only, when given), sorted by model and version. */
  async versions(model?: string): Promise<VersionOutcomes[]> {
    const windows = await this.source.windows(model);
    const out = windows.map((w) => create(VersionOutcomesSchema, { ...summarize(w, this.opts), ...this.card(w) }));
    out.sort(
      (a, b) => a.model.localeCompare(b.model) || a.modelVersion.localeCompare(b.modelVersion, "en", { numeric: true }),
    );
    if (model === undefined) this.latest = out;
    return out;
  }

  /** The outcome band of every tier of every version: what an alert rule reads. */
  async bandReadings(): Promise<OutcomeBandReading[]> {
    return bandReadingsOf(await this.versions());
  }

  private card(w: OutcomeWindow): { cardAuc?: number; cardCalibrationError?: number } {
    try {
      const m = this.repo?.card(w.model, w.modelVersion).metrics;
      return { cardAuc: m?.["roc_auc"], cardCalibrationError: m?.["calibration_error"] };
    } catch {
      return {};
    }
  }
}

/** The band readings of some versions' outcomes. */
export function bandReadingsOf(versions: readonly VersionOutcomes[]): OutcomeBandReading[] {
  return versions.flatMap((v) =>
    v.tiers.map((t) => ({
      model: v.model,
      version: v.modelVersion,
      tier: (Decision[t.tier] ?? "UNSPECIFIED").toLowerCase(),
      state: STATES[t.state],
      realised: t.realisedRate,
      predicted: t.predictedRate,
      band: t.band,
      outcomes: Number(t.outcomes),
    })),
  );
}
