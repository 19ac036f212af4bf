/**
 * The bin of `value` in a histogram with these `edges`: the one rule for the trainer's reference profiles
 * (tools/trainer/profile.ts) and the live values compared with them. Bin k holds values below edges[k] and at or above edges[k − 1]; the last bin is
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

/** Counts of `values` over the bins these `edges` make (a reference profile's, so the two compare bin for bin). */
export function countInto(edges: readonly number[], values: Iterable<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[binOf(edges, v)]!++;
  return counts;
}
