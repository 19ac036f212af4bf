/**
 * Counts per bin over the last `windowMs` (e.g. the last hour): the window is cut into `slices` equal slices
 * (default 60: one minute of an hour), each with its own counts, and a running total over them. Adding one is
 * O(1); when time moves into a new slice, the slices that fell out are subtracted from the total and cleared
 * (O(bins) each, at most once per slice). The window is the current slice and the `slices − 1` before it, so it
 * spans between `windowMs − windowMs/slices` and `windowMs`. Pure: the caller passes the clock.
 *
 * @example
 *   const w = new TimeSlicedCounts(10, 3_600_000);
 *   w.add(binOf(edges, value), Date.now());
 *   psi(reference.counts, w.counts(Date.now()));
 */
export class TimeSlicedCounts {
  readonly sliceMs: number;
  private readonly slices: Int32Array;
  private readonly totals: number[];
  private newest = -1;
  private filled = 0;

  constructor(
    readonly binCount: number,
    readonly windowMs: number,
    readonly sliceCount = 60,
  ) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${windowMs}`);
    if (!Number.isInteger(sliceCount) || sliceCount < 1)
      throw new RangeError(`sliceCount must be a positive integer, got ${sliceCount}`);
    this.sliceMs = windowMs / sliceCount;
    this.slices = new Int32Array(binCount * sliceCount);
    this.totals = new Array<number>(binCount).fill(0);
  }

  /** Counts one observation in `bin` at time `now` (ms); one from before the newest slice counts in the newest. */
  add(bin: number, now: number): void {
    this.advance(now);
    const pos = (this.newest % this.sliceCount) * this.binCount;
    this.slices[pos + bin]!++;
    this.totals[bin]!++;
    this.filled++;
  }

  /** Observations in the window as of `now`. */
  size(now: number): number {
    this.advance(now);
    return this.filled;
  }

  /** A copy of the counts per bin over the window as of `now`. */
  counts(now: number): number[] {
    this.advance(now);
    return [...this.totals];
  }

  /** Moves the window to `now`'s slice, dropping the slices that fell out of it. */
  private advance(now: number): void {
    const index = Math.floor(now / this.sliceMs);
    if (index <= this.newest) return;
    const steps = this.newest < 0 ? 0 : Math.min(index - this.newest, this.sliceCount);
    for (let s = 1; s <= steps; s++) this.clear(((this.newest + s) % this.sliceCount) * this.binCount);
    this.newest = index;
  }

  private clear(pos: number): void {
    for (let b = 0; b < this.binCount; b++) {
      const c = this.slices[pos + b]!;
      if (c === 0) continue;
      this.totals[b]! -= c;
      this.filled -= c;
      this.slices[pos + b] = 0;
    }
  }
}
