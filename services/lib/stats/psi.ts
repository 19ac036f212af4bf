/**
 * Population stability index of `actual` against `expected` (counts over the same bins):
 * Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over the bins' shares. An empty bin gets half a count (on both sides alike), so that
 * a bin the reference never saw counts as a large shift rather than an infinity. 0 when nothing moved; the usual
 * reading: below 0.1 stable, 0.1–0.25 a shift worth a look, above 0.25 a real one.
 *
 * @example psi([500, 500], [500, 500]) // 0
 */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new RangeError(`bins differ: ${expected.length} vs ${actual.length}`);
  const e = shares(expected);
  const a = shares(actual);
  let sum = 0;
  for (let i = 0; i < e.length; i++) sum += (a[i]! - e[i]!) * Math.log(a[i]! / e[i]!);
  return sum;
}

/** Each bin's share, an empty bin counted as half an observation. */
function shares(counts: readonly number[]): number[] {
  const smoothed = counts.map((c) => (c > 0 ? c : 0.5));
  const total = smoothed.reduce((s, c) => s + c, 0);
  return smoothed.map((c) => c / total);
}
