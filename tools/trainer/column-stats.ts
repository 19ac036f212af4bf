import { roundSignificant } from "./rounding.js";

/**
 * Mean and population standard deviation of a column, rounded to `digits` significant digits so that a spec
 * written from them is stable and readable. Throws RangeError for an empty or constant column.
 *
 * @example fitStandardize([1, 2, 3]) // { mean: 2, std: 0.816497 }
 */
export function fitStandardize(values: ArrayLike<number>, digits = 6): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) throw new RangeError("cannot standardize an empty column");
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i]! - mean) ** 2;
  const std = Math.sqrt(squares / n);
  if (!(std > 0)) throw new RangeError("cannot standardize a constant column");
  return { mean: roundSignificant(mean, digits), std: roundSignificant(std, digits) };
}
