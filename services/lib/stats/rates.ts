/** A group's outcomes: how many, and how many of them were the outcome counted (approvals, say). */
export interface GroupCount {
  group: string;
  total: number;
  hits: number;
}

export interface RatioReading {
  /** Lowest rate ÷ highest rate across the groups (1: all equal); undefined while any group lacks the sample. */
  ratio: number | undefined;
  lowest?: string;
  highest?: string;
  /** Groups still under the minimum sample. */
  waiting: string[];
}

/**
 * The ratio of the lowest to the highest rate across groups (the four-fifths rule compares it with 0.8), once
 * every group has at least `minSample` observations, so that a small group cannot trip it by chance.
 */
export function rateRatio(groups: readonly GroupCount[], minSample: number): RatioReading {
  const waiting = groups.filter((g) => g.total < minSample).map((g) => g.group);
  if (waiting.length > 0 || groups.length < 2) return { ratio: undefined, waiting };
  const rated = groups.map((g) => ({ group: g.group, rate: g.hits / g.total }));
  rated.sort((a, b) => a.rate - b.rate);
  const lo = rated[0]!;
  const hi = rated[rated.length - 1]!;
  return { ratio: hi.rate === 0 ? 1 : lo.rate / hi.rate, lowest: lo.group, highest: hi.group, waiting };
}

/**
 * Two-proportion z statistic of b's rate against a's (pooled standard error): |z| > 2.58 is a difference beyond
 * chance at 1 %. 0 when either side has no observations or the pooled rate is 0 or 1.
 */
export function twoProportionZ(a: { total: number; hits: number }, b: { total: number; hits: number }): number {
  if (a.total === 0 || b.total === 0) return 0;
  const pooled = (a.hits + b.hits) / (a.total + b.total);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.total + 1 / b.total));
  return se === 0 ? 0 : (b.hits / b.total - a.hits / a.total) / se;
}
