import { decide } from "../../services/lib/model/index.js";
import type { ModelCard } from "../../services/lib/model/index.js";
import { quantile, rocAuc } from "./metrics.js";

/** One model's holdout scores and the thresholds its card decides with. */
export interface CascadeArm {
  scores: ArrayLike<number>;
  thresholds: ModelCard["thresholds"];
}

/** Light scores in [low, high) go to the heavy model; the rest are decided by the light one. */
export interface UncertaintyBand {
  low: number;
  high: number;
}

export interface CascadePoint extends UncertaintyBand {
  /** Share of rows that reached the heavy model. */
  heavyShare: number;
  /** Share of rows whose cascade decision equals the heavy-only decision. */
  agreement: number;
  /** ROC AUC of the cascade's scores (the heavy score inside the band, the light score outside). */
  auc: number;
}

/** What the light → heavy cascade decides on `rows` (indices into the arms), against heavy-only. */
export function cascadeOutcome(
  light: CascadeArm,
  heavy: CascadeArm,
  labels: ArrayLike<number>,
  band: UncertaintyBand,
  rows: readonly number[],
): CascadePoint {
  let heavyCalls = 0;
  let agree = 0;
  const scores: number[] = [];
  const y: number[] = [];
  for (const i of rows) {
    const l = light.scores[i]!;
    const h = heavy.scores[i]!;
    const toHeavy = l >= band.low && l < band.high;
    if (toHeavy) heavyCalls++;
    const decision = toHeavy ? decide(h, heavy.thresholds) : decide(l, light.thresholds);
    if (decision === decide(h, heavy.thresholds)) agree++;
    scores.push(toHeavy ? h : l);
    y.push(labels[i]!);
  }
  const n = rows.length;
  return { ...band, heavyShare: heavyCalls / n, agreement: agree / n, auc: rocAuc(scores, y) };
}

/**
 * The band of a given width (a share of the light scores on `fitRows`) with the best agreement on `fitRows`,
 * searched over a grid of light-score quantiles with step `step`; ties go to the higher AUC.
 */
export function fitBand(
  light: CascadeArm,
  heavy: CascadeArm,
  labels: ArrayLike<number>,
  share: number,
  fitRows: readonly number[],
  step = 0.01,
): CascadePoint {
  const fitScores = fitRows.map((i) => light.scores[i]!);
  let best: CascadePoint | undefined;
  for (let q = 0; q + share <= 1 + 1e-9; q += step) {
    const low = q <= 0 ? -Infinity : quantile(fitScores, q);
    const high = q + share >= 1 - 1e-9 ? Infinity : quantile(fitScores, q + share);
    const point = cascadeOutcome(light, heavy, labels, { low, high }, fitRows);
    if (!best || point.agreement > best.agreement || (point.agreement === best.agreement && point.auc > best.auc)) {
      best = point;
    }
  }
  if (!best) throw new RangeError(`share ${share} must be in (0, 1]`);
  return best;
}
