import type { RowCache } from "./response-cache.js";
import { rowKey } from "./response-cache.js";
import type { LoadedVersion, OutputArray, OutputTensor } from "./loaded-version.js";

/** Runs `rows` rows of a row-major matrix through the model (batched or not); resolves with every output. */
export type Execute = (data: Float32Array, rows: number) => Promise<OutputTensor[]>;

/**
 * Answers the rows found in the cache from it and runs only the others. A request whose rows were all cached
 * counts as a cache hit in the statistics, any other as a miss (Triton counts per request too).
 */
export async function inferCached(
  lv: LoadedVersion,
  cache: RowCache<OutputTensor[]>,
  data: Float32Array,
  rows: number,
  execute: Execute,
  t0: number,
): Promise<OutputTensor[]> {
  const keys: string[] = [];
  const found: (OutputTensor[] | undefined)[] = [];
  const missing: number[] = [];
  for (let r = 0; r < rows; r++) {
    keys.push(rowKey(data, r, lv.cols));
    const hit = cache.get(keys[r]!);
    found.push(hit);
    if (!hit) missing.push(r);
  }
  let executeMs = 0;
  if (missing.length) {
    const t1 = performance.now();
    const out = await execute(pickRows(data, missing, rows, lv.cols), missing.length);
    executeMs = performance.now() - t1;
    missing.forEach((r, i) => {
      const perRow = out.map((o) => ({ ...o, data: o.data.slice(i * o.width, (i + 1) * o.width) }));
      cache.set(keys[r]!, perRow);
      found[r] = perRow;
    });
  }
  const result = assemble(found as OutputTensor[][], rows);
  // Lookup, insertion and assembly time (the model's own time is in the compute statistics).
  const cacheMs = performance.now() - t0 - executeMs;
  if (missing.length) lv.stats.cacheMiss.add(cacheMs);
  else lv.stats.cacheHit.add(cacheMs);
  return result;
}

/** The rows `which` of a row-major matrix of `rows` rows (the matrix itself when that is all of them). */
function pickRows(data: Float32Array, which: number[], rows: number, cols: number): Float32Array {
  if (which.length === rows) return data;
  const picked = new Float32Array(which.length * cols);
  which.forEach((r, i) => picked.set(data.subarray(r * cols, (r + 1) * cols), i * cols));
  return picked;
}

/** One output tensor per output from single-row outputs, in row order. */
function assemble(perRow: OutputTensor[][], rows: number): OutputTensor[] {
  return perRow[0]!.map((o, j) => {
    const arr = new (o.data.constructor as new (n: number) => OutputArray)(rows * o.width);
    const target = arr as unknown as { set(a: ArrayLike<unknown>, offset: number): void };
    for (let r = 0; r < rows; r++) target.set(perRow[r]![j]!.data, r * o.width);
    return { name: o.name, datatype: o.datatype, width: o.width, data: arr };
  });
}
