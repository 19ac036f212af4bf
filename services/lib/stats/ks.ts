/**
 * Kolmogorov–Smirnov distance between two distributions given as counts over the same ordered bins: the largest
 * gap between their cumulative shares at a bin boundary (a lower bound of the distance between the raw samples,
 * exact when every distinct value has its own bin, as codes do).
 */
export function ksDistance(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new RangeError(`bins differ: ${expected.length} vs ${actual.length}`);
  const n = sum(expected);
  const m = sum(actual);
  if (n === 0 || m === 0) return 0;
  let ce = 0;
  let ca = 0;
  let d = 0;
  for (let i = 0; i < expected.length; i++) {
    ce += expected[i]! / n;
    ca += actual[i]! / m;
    d = Math.max(d, Math.abs(ce - ca));
  }
  return d;
}

/**
 * The KS distance above which two samples of sizes `n` and `m` differ at significance `alpha` (the asymptotic
 * two-sample critical value c(α)·√((n + m) / (n·m)), c(α) = √(−ln(α/2) / 2)).
 */
export function ksCritical(n: number, m: number, alpha = 0.01): number {
  if (n <= 0 || m <= 0) return Infinity;
  return Math.sqrt(-Math.log(alpha / 2) / 2) * Math.sqrt((n + m) / (n * m));
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
