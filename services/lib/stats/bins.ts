import type { Histogram } from "../model/index.js";

/**
 * The bin of `value` in a histogram with these `edges`, as the trainer bins its reference profiles
 * (tools/trainer/profile.ts): bin k holds values below edges[k] and at or above edges[k − 1]; the last bin is
 * open. Binary search: O(log bins).
 */
export function binOf(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value < edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Counts of `values` over the bins of `reference` (same edges, so the two compare bin for bin). */
export function countInto(reference: Histogram, values: Iterable<number>): number[] {
  const counts = new Array<number>(reference.edges.length + 1).fill(0);
  for (const v of values) counts[binOf(reference.edges, v)]!++;
  return counts;
}
