import type { Histogram } from "../../services/lib/model/index.js";
import { countInto } from "../../services/lib/stats/index.js";
import { roundSignificant } from "./rounding.js";

/**
 * A reference histogram of some values: edges at their deciles (rounded to 6 significant digits, distinct,
 * above the smallest value), counts per bin. Bin k holds values below edges[k] and at or above edges[k − 1];
 * the last bin is open. A column with few distinct values (a code) gets one bin per value.
 *
 * @example histogram([1, 2, 2, 3]) // { edges: [2, 3], counts: [1, 2, 1] }
 */
export function histogram(values: ArrayLike<number>, bins = 10): Histogram {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { edges: [], counts: [0] };
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const v = roundSignificant(sorted[Math.floor((k * n) / bins)]!, 6);
    if (v > sorted[0]! && (edges.length === 0 || v > edges[edges.length - 1]!)) edges.push(v);
  }
  // Binned as the monitor bins live values against this profile: one rule, in services/lib/stats.
  return { edges, counts: countInto(edges, sorted) };
}

export interface CalibrationBin {
  mean_score: number;
  observed_rate: number;
  rows: number;
}

/**
 * Calibration of probabilities on held-out rows: rows sorted by score and cut into `bins` groups of (nearly)
 * equal size, each group's mean score against its observed positive rate, and the expected calibration error
 * Σ (rows / N) · |mean score − observed rate|.
 */
export function calibration(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): { table: CalibrationBin[]; error: number } {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
  const table: CalibrationBin[] = [];
  let error = 0;
  for (let b = 0; b < bins; b++) {
    const lo = Math.floor((b * n) / bins);
    const hi = Math.floor(((b + 1) * n) / bins);
    if (hi <= lo) continue;
    let s = 0;
    let y = 0;
    for (let k = lo; k < hi; k++) {
      s += scores[order[k]!]!;
      y += labels[order[k]!]!;
    }
    const rows = hi - lo;
    table.push({ mean_score: s / rows, observed_rate: y / rows, rows });
    error += (rows / n) * Math.abs(s / rows - y / rows);
  }
  return { table, error };
}
