import type { Histogram } from "../../lib/model/index.js";

/** A card's thresholds: score ≥ review is REVIEW, ≥ decline is DECLINE. */
export interface ReviewBand {
  review: number;
  decline: number;
}

/** Review-band share and mean distance from the nearest threshold of some model scores. */
export interface ConfidenceFigures {
  scored: number;
  /** null while nothing was scored. */
  reviewShare: number | null;
  meanThresholdDistance: number | null;
}

interface Minute {
  start: number;
  scored: number;
  inBand: number;
  distance: number;
}

/**
 * Confidence decay of one version, online: of its model scores, the share in the review band (review ≤ score <
 * decline) and the mean distance from the nearest threshold, over the last `capacity` scores (a ring, O(1) per
 * score) and per minute over the last `windowMs` (the time window: the sum of its minutes). Pure: the caller
 * passes the clock.
 */
export class ConfidenceDecay {
  private readonly inBand: Uint8Array;
  private readonly distance: Float64Array;
  private next = 0;
  private filled = 0;
  private ringInBand = 0;
  private ringDistance = 0;
  private readonly minutes: Minute[] = [];

  constructor(
    readonly band: ReviewBand,
    readonly capacity: number,
    readonly windowMs: number,
    readonly minuteMs = 60_000,
  ) {
    this.inBand = new Uint8Array(capacity);
    this.distance = new Float64Array(capacity);
  }

  add(score: number, now: number): void {
    const inBand = score >= this.band.review && score < this.band.decline ? 1 : 0;
    const d = Math.min(Math.abs(score - this.band.review), Math.abs(score - this.band.decline));
    if (this.filled === this.capacity) {
      this.ringInBand -= this.inBand[this.next]!;
      this.ringDistance -= this.distance[this.next]!;
    } else this.filled++;
    this.inBand[this.next] = inBand;
    this.distance[this.next] = d;
    this.ringInBand += inBand;
    this.ringDistance += d;
    this.next = (this.next + 1) % this.capacity;
    const m = this.minuteAt(now);
    m.scored++;
    m.inBand += inBand;
    m.distance += d;
  }

  /** The last `capacity` scores. */
  lastScores(): ConfidenceFigures {
    return figures(this.filled, this.ringInBand, this.ringDistance);
  }

  /** The minutes of the time window as of `now`, oldest first, and their sum. */
  overTime(now: number): { total: ConfidenceFigures; series: (ConfidenceFigures & { start: number })[] } {
    const from = now - this.windowMs;
    const kept = this.minutes.filter((m) => m.start + this.minuteMs > from);
    const sum = kept.reduce((s, m) => ({ n: s.n + m.scored, b: s.b + m.inBand, d: s.d + m.distance }), {
      n: 0,
      b: 0,
      d: 0,
    });
    return {
      total: figures(sum.n, sum.b, sum.d),
      series: kept.map((m) => ({ start: m.start, ...figures(m.scored, m.inBand, m.distance) })),
    };
  }

  private minuteAt(now: number): Minute {
    const start = Math.floor(now / this.minuteMs) * this.minuteMs;
    const last = this.minutes[this.minutes.length - 1];
    if (last && last.start >= start) return last; // a late score counts in the newest minute
    const m = { start, scored: 0, inBand: 0, distance: 0 };
    this.minutes.push(m);
    while (this.minutes[0]!.start + this.minuteMs <= now - this.windowMs) this.minutes.shift();
    return m;
  }
}

function figures(scored: number, inBand: number, distance: number): ConfidenceFigures {
  return {
    scored,
    reviewShare: scored ? inBand / scored : null,
    meanThresholdDistance: scored ? Math.max(0, distance) / scored : null,
  };
}

/**
 * The share of a score histogram's values in the review band, each bin's count spread evenly over it (the first
 * bin from 0, the last to 1: scores are probabilities).
 */
export function referenceReviewShare(h: Histogram, band: ReviewBand): number {
  const total = h.counts.reduce((s, c) => s + c, 0);
  if (total === 0) return 0;
  let inBand = 0;
  h.counts.forEach((c, k) => {
    const lo = k === 0 ? 0 : h.edges[k - 1]!;
    const hi = k === h.edges.length ? 1 : h.edges[k]!;
    const overlap = Math.max(0, Math.min(hi, band.decline) - Math.max(lo, band.review));
    inBand += hi > lo ? (c * overlap) / (hi - lo) : 0;
  });
  return inBand / total;
}
