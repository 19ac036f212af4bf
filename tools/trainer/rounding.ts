/** Rounds to `digits` significant digits, e.g. roundSignificant(167484.32, 6) = 167484. */
export function roundSignificant(x: number, digits: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(digits));
}

/** Rounds to `decimals` decimal places, e.g. roundDecimals(0.72849, 4) = 0.7285. */
export function roundDecimals(x: number, decimals: number): number {
  return Number(x.toFixed(decimals));
}

/**
 * The shortest decimal that reads back as the same float32 as `x`: what a float32 weight "is" when written
 * to JSON. Math.fround(shortestFloat32(x)) === Math.fround(x).
 */
export function shortestFloat32(x: number): number {
  const f = Math.fround(x);
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return Number(f.toPrecision(9));
}
