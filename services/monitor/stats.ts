import { Decision } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { DecisionRecord } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { ShadowPairs } from "./shadow-pairs.js";

export interface VersionCounts {
  model: string;
  modelVersion: string;
  decisions: number;
  approve: number;
  review: number;
  decline: number;
  degraded: number;
  scoreSum: number;
}

/**
 * Running counts of decisions per model version and a sliding window of the most recent latencies
 * (for percentiles). Pure: no I/O.
 */
export class DecisionStats {
  total = 0;
  readonly versions = new Map<string, VersionCounts>();
  /** Champion/shadow pairs (shadow records), kept apart from the decisions. */
  readonly shadows = new ShadowPairs();
  private readonly latencies: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(windowSize = 10_000) {
    this.latencies = new Float64Array(windowSize);
  }

  add(r: DecisionRecord): void {
    this.total++;
    const key = `${r.model}/${r.modelVersion}`;
    let c = this.versions.get(key);
    if (!c) {
      c = {
        model: r.model,
        modelVersion: r.modelVersion,
        decisions: 0,
        approve: 0,
        review: 0,
        decline: 0,
        degraded: 0,
        scoreSum: 0,
      };
      this.versions.set(key, c);
    }
    c.decisions++;
    c.scoreSum += r.score;
    if (r.degraded) c.degraded++;
    if (r.decision === Decision.APPROVE) c.approve++;
    else if (r.decision === Decision.REVIEW) c.review++;
    else if (r.decision === Decision.DECLINE) c.decline++;
    this.latencies[this.next] = r.latencyMs;
    this.next = (this.next + 1) % this.latencies.length;
    this.filled = Math.min(this.filled + 1, this.latencies.length);
  }

  /** The q-quantile (0..1) of the latency window, nearest-rank; 0 when empty. */
  latencyQuantile(q: number): number {
    if (this.filled === 0) return 0;
    const sorted = this.latencies.slice(0, this.filled).sort();
    return sorted[Math.min(this.filled - 1, Math.max(0, Math.ceil(q * this.filled) - 1))]!;
  }
}
