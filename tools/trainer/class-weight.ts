/** How rows are weighted by class when fitting: all alike, or each class with the same total weight. */
export type ClassWeight = "none" | "balanced";

/**
 * Row weights for binary labels. "balanced" weights each positive row n_neg / n_pos and each negative row 1,
 * so both classes carry the same total weight; "none" gives no weights (every row 1).
 */
export function classWeights(
  labels: ArrayLike<number>,
  mode: ClassWeight,
): { positiveWeight: number; sampleWeights: Float64Array | undefined } {
  if (mode === "none") return { positiveWeight: 1, sampleWeights: undefined };
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) positives++;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError("balanced class weights need both classes");
  const positiveWeight = negatives / positives;
  const sampleWeights = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) sampleWeights[i] = labels[i] === 1 ? positiveWeight : 1;
  return { positiveWeight, sampleWeights };
}
