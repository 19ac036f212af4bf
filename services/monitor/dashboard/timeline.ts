import type { DecisionRecord } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { binOf } from "../../lib/stats/index.js";

/** A card's thresholds: score ≥ review is REVIEW, ≥ decline is DECLINE. */
export interface Thresholds {
  review: number;
  decline: number;
}

/** Latency bins (ms): 0.05 ms × 1.2^k, k < 80 (about 10 % wide, up to ~110 s). */
const LATENCY_EDGES = Array.from({ length: 80 }, (_, k) => 0.05 * 1.2 ** k);

interface VersionBucket {
  decisions: number;
  /** Model-scored (not degraded) decisions whose version's thresholds are known. */
  scored: number;
  inBand: number;
  distanceSum: number;
}

interface Bucket {
  index: number;
  decisions: number;
  degraded: number;
  latency: number[];
  versions: Map<string, VersionBucket>;
}

/** Per-second rates and per-bucket figures of the last `buckets` complete buckets, oldest first. */
export interface TimelineSeries {
  bucket_s: number;
  /** Bucket start times (ms since the epoch). */
  t: number[];
  requests_per_s: number[];
  p50_ms: (number | null)[];
  p99_ms: (number | null)[];
  degraded_rate: (number | null)[];
  versions: {
    model: string;
    version: string;
    decisions_per_s: number[];
    /** Share of the version's model-scored decisions with review ≤ score < decline (null: none in the bucket). */
    review_band_share: (number | null)[];
    /** Mean |score − nearest threshold| of those decisions. */
    mean_threshold_distance: (number | null)[];
  }[];
}

/**
 * The dashboard's time series: decisions in fixed buckets (default 2 s, the last 150: five minutes) by arrival
 * time at the monitor: decisions and degraded decisions, router latency (a log-binned histogram per bucket, so
 * p50/p99 are read to about 10 %), and per version the decisions and the confidence decay (share of scores in
 * the review band, mean distance from the nearest threshold). Pure: the caller passes the clock.
 */
export class Timeline {
  private readonly buckets: Bucket[] = [];
  /** Every version seen, with its thresholds (read once). */
  private readonly names = new Map<string, { model: string; version: string; thresholds?: Thresholds }>();

  constructor(
    private readonly thresholdsOf: (model: string, version: string) => Thresholds | undefined,
    readonly bucketMs = 2000,
    readonly length = 150,
  ) {}

  add(r: DecisionRecord, now: number): void {
    const b = this.bucketAt(Math.floor(now / this.bucketMs));
    b.decisions++;
    if (r.degraded) b.degraded++;
    b.latency[binOf(LATENCY_EDGES, r.latencyMs)]!++;
    const key = `${r.model}/${r.modelVersion}`;
    let name = this.names.get(key);
    if (!name) {
      name = { model: r.model, version: r.modelVersion, thresholds: this.thresholdsOf(r.model, r.modelVersion) };
      this.names.set(key, name);
    }
    let v = b.versions.get(key);
    if (!v) b.versions.set(key, (v = { decisions: 0, scored: 0, inBand: 0, distanceSum: 0 }));
    v.decisions++;
    const t = r.degraded ? undefined : name.thresholds;
    if (!t) return;
    v.scored++;
    if (r.score >= t.review && r.score < t.decline) v.inBand++;
    v.distanceSum += Math.min(Math.abs(r.score - t.review), Math.abs(r.score - t.decline));
  }

  /**
   * The complete buckets before `now`'s (at most `length`, from the first one that saw a record), oldest first;
   * empty buckets included, so the axis is even.
   */
  series(now: number): TimelineSeries {
    const current = Math.floor(now / this.bucketMs);
    const first = Math.max(current - this.length, this.buckets[0]?.index ?? current);
    const indices = Array.from({ length: Math.max(0, current - first) }, (_, i) => first + i);
    const byIndex = new Map(this.buckets.map((b) => [b.index, b]));
    const list = indices.map((i) => byIndex.get(i));
    const secs = this.bucketMs / 1000;
    return {
      bucket_s: secs,
      t: indices.map((i) => i * this.bucketMs),
      requests_per_s: list.map((b) => (b ? b.decisions / secs : 0)),
      p50_ms: list.map((b) => (b ? quantile(b.latency, b.decisions, 0.5) : null)),
      p99_ms: list.map((b) => (b ? quantile(b.latency, b.decisions, 0.99) : null)),
      degraded_rate: list.map((b) => (b?.decisions ? b.degraded / b.decisions : null)),
      versions: [...this.names].map(([key, n]) => {
        const vs = list.map((b) => b?.versions.get(key));
        return {
          model: n.model,
          version: n.version,
          decisions_per_s: vs.map((v) => (v ? v.decisions / secs : 0)),
          review_band_share: vs.map((v) => (v?.scored ? v.inBand / v.scored : null)),
          mean_threshold_distance: vs.map((v) => (v?.scored ? v.distanceSum / v.scored : null)),
        };
      }),
    };
  }

  private bucketAt(index: number): Bucket {
    const last = this.buckets[this.buckets.length - 1];
    if (last && last.index >= index) return last; // a late record counts in the newest bucket
    const b: Bucket = { index, decisions: 0, degraded: 0, latency: new Array<number>(81).fill(0), versions: new Map() };
    this.buckets.push(b);
    while (this.buckets.length > 0 && this.buckets[0]!.index <= index - this.length) this.buckets.shift();
    return b;
  }
}

/** The q-quantile of a log-binned histogram: the upper edge of the bin holding it (the last bin: its lower edge). */
function quantile(counts: number[], total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return LATENCY_EDGES[Math.min(i, LATENCY_EDGES.length - 1)]!;
  }
  return null;
}
