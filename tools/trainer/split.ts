import { createRng } from "./rng.js";

export interface SplitOptions {
  trainRows: number;
  holdoutRows: number;
  seed: number;
}

/** Row indices of the two parts, each in ascending order. */
export interface Split {
  train: number[];
  holdout: number[];
}

/**
 * A seeded random train/holdout split of `n` rows: a Fisher–Yates shuffle of the indices, the first
 * `trainRows` for training and the next `holdoutRows` held out. The same seed always gives the same split.
 *
 * @example splitRows(25_000, { trainRows: 20_000, holdoutRows: 5_000, seed: 42 })
 */
export function splitRows(n: number, { trainRows, holdoutRows, seed }: SplitOptions): Split {
  if (trainRows + holdoutRows > n) {
    throw new RangeError(`cannot split ${n} rows into ${trainRows} train and ${holdoutRows} holdout rows`);
  }
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = createRng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const ascending = (a: number, b: number) => a - b;
  return {
    train: order.slice(0, trainRows).sort(ascending),
    holdout: order.slice(trainRows, trainRows + holdoutRows).sort(ascending),
  };
}
