/**
 * The join/split of a batch, written once for every batcher: the rows of several calls are joined into one list
 * or matrix, one downstream call (or model run) answers them all, and each caller gets its slice of the answer.
 * An error of that call is every caller's error: the batcher rejects each of them with it.
 */

/** Where one caller's rows sit in the joined rows: `count` rows from row `offset`. */
export interface RowSlice {
  offset: number;
  count: number;
}

/** One caller's part of a batch: its input and how many rows that input holds. */
export interface BatchPart<I> {
  input: I;
  rows: number;
}

/** How a batch is joined, answered and split. */
export interface JoinSplit<I, J, A, O> {
  /** The inputs of the callers, joined in order (see `joinLists`, `joinMatrices`). */
  join(inputs: I[]): J;
  /** The one call for the joined rows (`rows` of them). */
  call(joined: J, rows: number): Promise<A>;
  /** One caller's output: its slice of the answer (see `sliceList`, `sliceRows`). */
  split(answer: A, slice: RowSlice): O;
}

/** The slices of parts holding `counts` rows each, one after another. */
export function rowSlices(counts: readonly number[]): RowSlice[] {
  const slices: RowSlice[] = [];
  let offset = 0;
  for (const count of counts) {
    slices.push({ offset, count });
    offset += count;
  }
  return slices;
}

/**
 * Joins the rows of `parts`, makes the one call, and resolves with each part's output, in order. A call that
 * fails rejects (a `Batcher` then rejects every caller of the batch with that one error).
 *
 * @example
 *   const scores = await joinSplit(batch, { join: joinMatrices, call: (m, rows) => score(m, rows), split: (s, at) => sliceRows(s, at, 1) });
 */
export async function joinSplit<I, J, A, O>(parts: readonly BatchPart<I>[], how: JoinSplit<I, J, A, O>): Promise<O[]> {
  const slices = rowSlices(parts.map((p) => p.rows));
  const rows = slices.reduce((n, s) => n + s.count, 0);
  const answer = await how.call(how.join(parts.map((p) => p.input)), rows);
  return slices.map((s) => how.split(answer, s));
}

/** The lists one after another (a single list as it is, not copied). */
export function joinLists<T>(lists: readonly T[][]): T[] {
  return lists.length === 1 ? lists[0]! : lists.flat();
}

/** The row-major matrices one after another (a single matrix as it is, not copied). */
export function joinMatrices(matrices: readonly Float32Array[]): Float32Array {
  if (matrices.length === 1) return matrices[0]!;
  const joined = new Float32Array(matrices.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of matrices) {
    joined.set(m, at);
    at += m.length;
  }
  return joined;
}

/** One caller's elements of a joined list of answers (a copy). */
export function sliceList<T>(answers: readonly T[], { offset, count }: RowSlice): T[] {
  return answers.slice(offset, offset + count);
}

/** Array types whose `subarray` is a view of the same memory. */
export interface RowArray<T> {
  subarray(begin: number, end: number): T;
}

/** One caller's rows of a row-major array of `width` elements a row (a view, not a copy). */
export function sliceRows<T extends RowArray<T>>(data: T, { offset, count }: RowSlice, width: number): T {
  return data.subarray(offset * width, (offset + count) * width);
}
