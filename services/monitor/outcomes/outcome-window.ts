import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  OutcomeBandState,
  OutcomeWindowSchema,
  type OutcomeWindow,
  type TierOutcomesSchema,
  type VersionOutcomesSchema,
} from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { calibrationError, rocAuc } from "../../lib/stats/index.js";

/** Bytes per outcome in OutcomeWindow.recent: the score (float64 LE), then decision << 1 | defaulted. */
const ENTRY = 9;
/** The risk tiers, lowest risk first: the decision bands of the version's thresholds. */
export const TIERS = [Decision.APPROVE, Decision.REVIEW, Decision.DECLINE] as const;

/** One joined outcome: its decision's score and band, and whether the loan defaulted. */
export interface OutcomePoint {
  score: number;
  tier: Decision;
  defaulted: boolean;
}

/** The outcome-band rule: a verdict once a tier has `minSample` outcomes in the window, outside ± `band`. */
export interface OutcomeBandOptions {
  minSample: number;
  band: number;
}

/** `w` with `p` appended to its window (the oldest dropped beyond `max`) and its tier's totals. */
export function appendOutcome(w: OutcomeWindow, p: OutcomePoint, max: number): OutcomeWindow {
  const entry = Buffer.alloc(ENTRY);
  entry.writeDoubleLE(p.score, 0);
  entry.writeUInt8((p.tier << 1) | (p.defaulted ? 1 : 0), 8);
  const joined = Buffer.concat([w.recent, entry]);
  const keep = Math.min(max, joined.length / ENTRY) * ENTRY;
  const totals = TIERS.map((tier) => {
    const t = w.totals.find((x) => x.tier === tier);
    const add = tier === p.tier;
    return {
      tier,
      outcomes: (t?.outcomes ?? 0n) + (add ? 1n : 0n),
      defaults: (t?.defaults ?? 0n) + (add && p.defaulted ? 1n : 0n),
      scoreSum: (t?.scoreSum ?? 0) + (add ? p.score : 0),
    };
  }).filter((t) => t.outcomes > 0n);
  return create(OutcomeWindowSchema, {
    model: w.model,
    modelVersion: w.modelVersion,
    recent: new Uint8Array(joined.subarray(joined.length - keep)),
    totals,
  });
}

/** The window's outcomes, oldest first. */
export function windowPoints(w: OutcomeWindow): OutcomePoint[] {
  const b = Buffer.from(w.recent.buffer, w.recent.byteOffset, w.recent.byteLength);
  const out: OutcomePoint[] = [];
  for (let o = 0; o + ENTRY <= b.length; o += ENTRY) {
    const flags = b.readUInt8(o + 8);
    out.push({ score: b.readDoubleLE(o), tier: flags >> 1, defaulted: (flags & 1) === 1 });
  }
  return out;
}

/** The band half-width of a tier: the configured band, or three binomial standard errors if wider. */
export function bandOf(predicted: number, n: number, band: number): number {
  return n > 0 ? Math.max(band, 3 * Math.sqrt((predicted * (1 - predicted)) / n)) : band;
}

/** Where a realised rate stands against the predicted one. */
export function bandState(realised: number, predicted: number, n: number, opts: OutcomeBandOptions): OutcomeBandState {
  if (n < opts.minSample || n === 0) return OutcomeBandState.INSUFFICIENT;
  const band = bandOf(predicted, n, opts.band);
  if (realised > predicted + band) return OutcomeBandState.ABOVE;
  if (realised < predicted - band) return OutcomeBandState.BELOW;
  return OutcomeBandState.WITHIN;
}

type TierInit = MessageInitShape<typeof TierOutcomesSchema>;

function tierOf(w: OutcomeWindow, points: OutcomePoint[], tier: Decision, opts: OutcomeBandOptions): TierInit {
  const mine = points.filter((p) => p.tier === tier);
  const n = mine.length;
  const defaults = mine.filter((p) => p.defaulted).length;
  const realised = n ? defaults / n : 0;
  const predicted = n ? mine.reduce((s, p) => s + p.score, 0) / n : 0;
  const total = w.totals.find((t) => t.tier === tier);
  return {
    tier,
    outcomes: BigInt(n),
    defaults: BigInt(defaults),
    realisedRate: realised,
    predictedRate: predicted,
    band: bandOf(predicted, n, opts.band),
    state: bandState(realised, predicted, n, opts),
    totalOutcomes: total?.outcomes ?? 0n,
    totalDefaults: total?.defaults ?? 0n,
    totalPredictedRate: total && total.outcomes > 0n ? total.scoreSum / Number(total.outcomes) : 0,
  };
}

/** The version's outcomes per tier, calibration error and rolling AUC over its window. */
export function summarize(w: OutcomeWindow, opts: OutcomeBandOptions): MessageInitShape<typeof VersionOutcomesSchema> {
  const points = windowPoints(w);
  const scores = points.map((p) => p.score);
  const labels = points.map((p) => (p.defaulted ? 1 : 0));
  return {
    model: w.model,
    modelVersion: w.modelVersion,
    windowOutcomes: BigInt(points.length),
    tiers: TIERS.map((t) => tierOf(w, points, t, opts)),
    calibrationError: calibrationError(scores, labels),
    rollingAuc: rocAuc(scores, labels),
  };
}
