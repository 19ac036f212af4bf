/**
 * Metrics of scores against realised outcomes (1 = the positive class, e.g. defaulted): ROC AUC and the expected
 * calibration error, the definitions the model cards use (tools/trainer), written again here so that the services
 * do not import the trainer. Pure functions.
 */

/** Indices of `scores` in ascending score order (ties by index, so the order is deterministic). */
function ascending(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random negative, ties counted
 * half (the Mann–Whitney statistic over midranks). Undefined when either class is missing.
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<number>): number | undefined {
  const order = ascending(scores);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const midrank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) {
      if (positive[order[k]!] === 1) {
        positives++;
        rankSum += midrank;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return undefined;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Expected calibration error: the rows sorted by score and cut into `bins` groups of (nearly) equal size,
 * Σ (rows / N) · |mean score − observed rate|. 0 for no rows.
 */
export function calibrationError(scores: ArrayLike<number>, positive: ArrayLike<number>, bins = 10): number {
  const n = scores.length;
  const order = ascending(scores);
  let error = 0;
  for (let b = 0; b < bins; b++) {
    const lo = Math.floor((b * n) / bins);
    const hi = Math.floor(((b + 1) * n) / bins);
    let s = 0;
    let y = 0;
    for (let k = lo; k < hi; k++) {
      s += scores[order[k]!]!;
      y += positive[order[k]!]!;
    }
    if (hi > lo) error += Math.abs(s - y) / n;
  }
  return error;
}
