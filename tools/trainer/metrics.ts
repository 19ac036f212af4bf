/**
 * Metrics of a binary scorer on held-out data: `scores` are predicted probabilities of the positive class,
 * `labels` are 0 or 1. Pure functions.
 */

/** Area under the ROC curve (the Mann–Whitney statistic, ties counted half). */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = sortedIndices(scores);
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const midrank = (start + end) / 2 + 1; // ranks are 1-based
    for (let k = start; k <= end; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        positiveRankSum += midrank;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError("ROC AUC needs both classes");
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Kolmogorov–Smirnov statistic: the largest gap between the score distributions of the two classes. */
export function ksStatistic(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = sortedIndices(scores);
  const { positives, negatives } = classCounts(labels);
  if (positives === 0 || negatives === 0) throw new RangeError("KS needs both classes");
  let tp = 0;
  let fp = 0;
  let best = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[start]!]) end++;
    for (let k = start; k <= end; k++) {
      if (labels[order[k]!] === 1) tp++;
      else fp++;
    }
    best = Math.max(best, Math.abs(tp / positives - fp / negatives));
    start = end + 1;
  }
  return best;
}

/** Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15]. */
export function logLoss(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(Math.max(scores[i]!, 1e-15), 1 - 1e-15);
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / scores.length;
}

/** Mean squared difference between probability and outcome. */
export function brierScore(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += (scores[i]! - labels[i]!) ** 2;
  return sum / scores.length;
}

/** The q-quantile (0 ≤ q ≤ 1) with linear interpolation between order statistics (numpy's default). */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new RangeError("quantile of no values");
  const sorted = Float64Array.from(values).sort();
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface HoldoutMetrics {
  roc_auc: number;
  ks: number;
  log_loss: number;
  brier: number;
  default_rate: number;
  holdout_rows: number;
}

/** All of a model card's metrics, unrounded. */
export function holdoutMetrics(scores: ArrayLike<number>, labels: ArrayLike<number>): HoldoutMetrics {
  if (scores.length !== labels.length) throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  return {
    roc_auc: rocAuc(scores, labels),
    ks: ksStatistic(scores, labels),
    log_loss: logLoss(scores, labels),
    brier: brierScore(scores, labels),
    default_rate: classCounts(labels).positives / labels.length,
    holdout_rows: labels.length,
  };
}

function sortedIndices(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
}

function classCounts(labels: ArrayLike<number>): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positives++;
  return { positives, negatives: labels.length - positives };
}
