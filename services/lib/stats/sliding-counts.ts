/**
 * Counts per bin over the last `capacity` observations: a ring of bin indices, so that adding one is O(1) and the
 * oldest falls out as the newest comes in ("the last 1,000 decisions").
 *
 * @example
 *   const w = new SlidingCounts(10, 1000);
 *   w.add(binOf(edges, value));
 *   psi(reference.counts, w.counts());
 */
export class SlidingCounts {
  private readonly ring: Int32Array;
  private readonly bins: number[];
  private next = 0;
  private filled = 0;

  constructor(
    binCount: number,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be ≥ 1, got ${capacity}`);
    this.ring = new Int32Array(capacity);
    this.bins = new Array<number>(binCount).fill(0);
  }

  add(bin: number): void {
    if (this.filled === this.capacity) this.bins[this.ring[this.next]!]!--;
    else this.filled++;
    this.ring[this.next] = bin;
    this.bins[bin]!++;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Observations in the window (at most `capacity`). */
  get size(): number {
    return this.filled;
  }

  /** A copy of the counts per bin. */
  counts(): number[] {
    return [...this.bins];
  }
}
