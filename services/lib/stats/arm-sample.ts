import { binOf } from "./bins.js";

/** The decisions an arm's records can carry (scoremesh.scoring.v1.Decision, by name). */
export type DecisionName = "approve" | "review" | "decline";

/** Score bins of an arm sample: ten equal-width bins over [0, 1] (edges 0.1 … 0.9). */
export const SCORE_EDGES: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** Counts of one arm (or one arm within a segment): decisions, degraded answers, score bins, latencies. */
export interface ArmCounts {
  decisions: number;
  degraded: number;
  approve: number;
  review: number;
  decline: number;
  /** Counts over SCORE_EDGES' bins. */
  scoreBins: number[];
}

/** One decision as the analysis needs it (from a monitor DecisionRecord). */
export interface ArmObservation {
  score: number;
  decision: DecisionName | undefined;
  degraded: boolean;
  latencyMs: number;
  /** Coarse segment labels, e.g. { limit_band: "high" }. */
  segment: Readonly<Record<string, string>>;
}

/** An ArmSample as plain JSON (ArmSample.snapshot), e.g. one monitor replica's share of a rollout step. */
export interface ArmSnapshot {
  all: ArmCounts;
  /** Counts per segment value (`"key=value"`). */
  segments: Record<string, ArmCounts>;
  /** The most recent latencies (at most SHARED_LATENCIES_MAX in a shared snapshot). */
  latencies: number[];
}

/** How many latencies (the most recent) a shared snapshot keeps, so that a long hold's value stays small. */
export const SHARED_LATENCIES_MAX = 2_000;

export function emptyCounts(): ArmCounts {
  return { decisions: 0, degraded: 0, approve: 0, review: 0, decline: 0, scoreBins: new Array<number>(10).fill(0) };
}

/**
 * What one arm (champion or canary) of a rollout step has seen: overall counts, latencies (for p99) and counts
 * per segment value (`"key=value"`). Pure: a controller adds observations, `canaryAnalysis` compares two.
 *
 * @example
 *   const a = new ArmSample(); a.add({ score: 0.2, decision: "approve", degraded: false, latencyMs: 3, segment: {} });
 */
export class ArmSample {
  readonly all: ArmCounts = emptyCounts();
  readonly segments = new Map<string, ArmCounts>();
  readonly latencies: number[] = [];

  add(o: ArmObservation): void {
    addTo(this.all, o);
    this.latencies.push(o.latencyMs);
    for (const [k, v] of Object.entries(o.segment)) {
      const key = `${k}=${v}`;
      let c = this.segments.get(key);
      if (!c) this.segments.set(key, (c = emptyCounts()));
      addTo(c, o);
    }
  }

  /** The sample as plain JSON, to share with other monitor replicas: the last `maxLatencies` latencies (to 0.1 ms). */
  snapshot(maxLatencies = SHARED_LATENCIES_MAX): ArmSnapshot {
    const segments: Record<string, ArmCounts> = {};
    for (const [k, c] of this.segments) segments[k] = copyCounts(c);
    // 0.1 ms is plenty for a p99 check and keeps a shared value small.
    const latencies = this.latencies.slice(-maxLatencies).map((l) => Math.round(l * 10) / 10);
    return { all: copyCounts(this.all), segments, latencies };
  }

  /** Adds another sample's counts and latencies (disjoint records, e.g. another replica's) to this one. */
  merge(s: ArmSnapshot): this {
    addCounts(this.all, s.all);
    for (const [k, c] of Object.entries(s.segments)) {
      let m = this.segments.get(k);
      if (!m) this.segments.set(k, (m = emptyCounts()));
      addCounts(m, c);
    }
    for (const l of s.latencies) this.latencies.push(l);
    return this;
  }

  /** The q-quantile of the latencies (nearest rank); 0 when empty. */
  latencyQuantile(q: number): number {
    if (this.latencies.length === 0) return 0;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  }
}

function copyCounts(c: ArmCounts): ArmCounts {
  return { ...c, scoreBins: [...c.scoreBins] };
}

function addCounts(to: ArmCounts, c: ArmCounts): void {
  to.decisions += c.decisions;
  to.degraded += c.degraded;
  to.approve += c.approve;
  to.review += c.review;
  to.decline += c.decline;
  c.scoreBins.forEach((n, i) => (to.scoreBins[i] = (to.scoreBins[i] ?? 0) + n));
}

function addTo(c: ArmCounts, o: ArmObservation): void {
  c.decisions++;
  if (o.degraded) c.degraded++;
  if (o.decision) c[o.decision]++;
  c.scoreBins[binOf(SCORE_EDGES, o.score)]!++;
}
