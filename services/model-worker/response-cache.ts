/**
 * A least-recently-used cache of one model version's outputs per input row, keyed on the row's exact bytes
 * (a model version is deterministic: the same vector always scores the same). Off unless WORKER_CACHE_ROWS > 0.
 *
 * @example
 *   const cache = new RowCache<number>(10_000);
 *   cache.set(rowKey(matrix, 0, cols), 0.25);
 *   cache.get(rowKey(matrix, 0, cols)); // 0.25
 */
export class RowCache<V> {
  private readonly map = new Map<string, V>();
  /** Rows found and not found since start. */
  hits = 0;
  misses = 0;

  constructor(readonly maxRows: number) {
    if (!(maxRows >= 1)) throw new RangeError("maxRows must be at least 1");
  }

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Most recently used last: Map keeps insertion order.
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.maxRows) this.map.delete(this.map.keys().next().value!);
  }

  get size(): number {
    return this.map.size;
  }
}

/** The cache key of row `row` of a row-major [rows, cols] matrix: its bytes, one character per byte. */
export function rowKey(data: Float32Array, row: number, cols: number): string {
  return Buffer.from(data.buffer, data.byteOffset + row * cols * 4, cols * 4).toString("latin1");
}
