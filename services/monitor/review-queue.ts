import { create } from "@bufbuild/protobuf";
import { DecisionRecordSchema, type DecisionRecord } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";

export interface ReviewQueueOptions {
  /** The most cases kept; when full, the oldest case makes room for the newest. Default 1000. */
  max?: number;
}

/**
 * The review queue: the newest decisions with decision REVIEW, for a person to decide. Bounded and in memory
 * (a ring buffer); every review is counted in `total`, also those that have fallen out. A case keeps only what
 * a reviewer needs to find the request (ids, model, version, score, route, degraded, reasons, time): no inputs,
 * segments, imputed features or latency. Pure: no I/O.
 *
 * @example
 *   const q = new ReviewQueue({ max: 1000 });
 *   for (const r of req.records) q.offer(r);      // keeps the REVIEW ones
 *   q.list({ limit: 20 });                        // newest first
 */
export class ReviewQueue {
  readonly max: number;
  private readonly ring: (DecisionRecord | undefined)[];
  private next = 0;
  private size = 0;
  private readonly totals = new Map<string, number>();
  /** Review decisions offered since the start, including those no longer held. */
  total = 0;

  constructor(opts: ReviewQueueOptions = {}) {
    this.max = opts.max ?? 1000;
    if (!Number.isInteger(this.max) || this.max < 1)
      throw new RangeError(`ReviewQueue max must be a positive integer, got ${this.max}`);
    this.ring = new Array<DecisionRecord | undefined>(this.max);
  }

  /** Keeps a copy of the record's reviewable fields if its decision is REVIEW; returns whether it was kept. */
  offer(r: DecisionRecord): boolean {
    if (r.decision !== Decision.REVIEW) return false;
    this.ring[this.next] = create(DecisionRecordSchema, {
      requestId: r.requestId,
      traceId: r.traceId,
      model: r.model,
      modelVersion: r.modelVersion,
      score: r.score,
      decision: r.decision,
      route: r.route,
      degraded: r.degraded,
      reasons: r.reasons,
      decidedAt: r.decidedAt,
    });
    this.next = (this.next + 1) % this.max;
    this.size = Math.min(this.size + 1, this.max);
    this.total++;
    this.totals.set(r.model, (this.totals.get(r.model) ?? 0) + 1);
    return true;
  }

  /** Cases held now (of `model` when given). */
  queued(model?: string): number {
    if (model === undefined) return this.size;
    let n = 0;
    for (const c of this.newest()) if (c.model === model) n++;
    return n;
  }

  /** Reviews offered since the start (of `model` when given). */
  totalOf(model?: string): number {
    return model === undefined ? this.total : (this.totals.get(model) ?? 0);
  }

  /** Up to `limit` cases (of `model` when given), newest first. */
  list(opts: { limit: number; model?: string }): DecisionRecord[] {
    const out: DecisionRecord[] = [];
    if (opts.limit <= 0) return out;
    for (const c of this.newest()) {
      if (opts.model !== undefined && c.model !== opts.model) continue;
      out.push(c);
      if (out.length >= opts.limit) break;
    }
    return out;
  }

  private *newest(): Generator<DecisionRecord> {
    for (let i = 1; i <= this.size; i++) yield this.ring[(this.next - i + this.max) % this.max]!;
  }
}
