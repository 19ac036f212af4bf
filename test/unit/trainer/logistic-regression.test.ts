import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { solveSpd } from "../../../tools/trainer/cholesky.js";
import { fitLogisticRegression, sigmoid } from "../../../tools/trainer/logistic-regression.js";
import type { Matrix } from "../../../tools/trainer/matrix.js";
import { createRng } from "../../../tools/trainer/rng.js";

/** Rows x ~ N(0, 1)^d and labels y ~ Bernoulli(σ(b + w·x)), from a seeded RNG. */
function synthetic(n: number, intercept: number, coefficients: number[], seed: number) {
  const rng = createRng(seed);
  const d = coefficients.length;
  const x: Matrix = { rows: n, cols: d, data: new Float64Array(n * d) };
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let eta = intercept;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      x.data[i * d + j] = v;
      eta += coefficients[j]! * v;
    }
    y[i] = rng.next() < sigmoid(eta) ? 1 : 0;
  }
  return { x, y };
}

describe("fitLogisticRegression", () => {
  it("recovers the coefficients that generated the data", () => {
    const intercept = -0.7;
    const coefficients = [1.2, -0.8, 0.5, 0];
    const { x, y } = synthetic(50_000, intercept, coefficients, 7);
    const fit = fitLogisticRegression(x, y);
    assert.ok(fit.converged, "converged");
    assert.ok(fit.iterations < 50);
    // Standard errors are about 0.015 at this size: 0.06 is four of them.
    assert.ok(Math.abs(fit.intercept - intercept) < 0.06, `intercept ${fit.intercept}`);
    coefficients.forEach((c, j) =>
      assert.ok(Math.abs(fit.coefficients[j]! - c) < 0.06, `coefficient ${j}: ${fit.coefficients[j]} vs ${c}`),
    );
  });

  it("stops at a point where the penalized gradient vanishes", () => {
    const { x, y } = synthetic(5_000, 0.3, [2, -1, 0.5], 11);
    const l2 = 25;
    const weights = Float64Array.from(y, (v) => (v === 1 ? 3 : 1));
    const fit = fitLogisticRegression(x, y, { l2, sampleWeights: weights });
    const d = x.cols;
    const gradient = new Float64Array(d + 1);
    for (let i = 0; i < x.rows; i++) {
      let eta = fit.intercept;
      for (let j = 0; j < d; j++) eta += fit.coefficients[j]! * x.data[i * d + j]!;
      const r = weights[i]! * (sigmoid(eta) - y[i]!);
      gradient[0]! += r;
      for (let j = 0; j < d; j++) gradient[j + 1]! += r * x.data[i * d + j]!;
    }
    for (let j = 0; j < d; j++) gradient[j + 1]! += l2 * fit.coefficients[j]!;
    for (const g of gradient) assert.ok(Math.abs(g) < 1e-7, `gradient ${Array.from(gradient).join(",")}`);
  });

  it("penalizes the coefficients but not the intercept", () => {
    const { x, y } = synthetic(5_000, -1.5, [1, 1], 3);
    const free = fitLogisticRegression(x, y);
    const heavy = fitLogisticRegression(x, y, { l2: 1e7 });
    for (const c of heavy.coefficients) assert.ok(Math.abs(c) < 1e-3, `coefficient ${c}`);
    // With the coefficients squeezed to zero, the intercept is the log-odds of the base rate.
    const rate = y.reduce((a, b) => a + b, 0) / y.length;
    assert.ok(Math.abs(heavy.intercept - Math.log(rate / (1 - rate))) < 1e-3, `intercept ${heavy.intercept}`);
    assert.ok(Math.hypot(...free.coefficients) > 1);
  });

  it("treats a row of weight 2 as two rows", () => {
    const { x, y } = synthetic(2_000, 0.2, [0.7, -0.4], 5);
    const doubled = new Set([3, 10, 400, 1999]);
    const weights = Float64Array.from(y, (_, i) => (doubled.has(i) ? 2 : 1));
    const d = x.cols;
    const extra = [...doubled];
    const xx: Matrix = { rows: x.rows + extra.length, cols: d, data: new Float64Array((x.rows + extra.length) * d) };
    xx.data.set(x.data);
    const yy = new Float64Array(x.rows + extra.length);
    yy.set(y);
    extra.forEach((i, k) => {
      xx.data.set(x.data.subarray(i * d, i * d + d), (x.rows + k) * d);
      yy[x.rows + k] = y[i]!;
    });
    const weighted = fitLogisticRegression(x, y, { l2: 1, sampleWeights: weights });
    const duplicated = fitLogisticRegression(xx, yy, { l2: 1 });
    assert.ok(Math.abs(weighted.intercept - duplicated.intercept) < 1e-9);
    weighted.coefficients.forEach((c, j) => assert.ok(Math.abs(c - duplicated.coefficients[j]!) < 1e-9));
  });
});

describe("solveSpd", () => {
  it("solves a random positive-definite system", () => {
    const rng = createRng(1);
    const n = 6;
    const b = Float64Array.from({ length: n * n }, () => rng.normal());
    const a = new Float64Array(n * n); // BᵀB + I
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = i === j ? 1 : 0;
        for (let k = 0; k < n; k++) s += b[k * n + i]! * b[k * n + j]!;
        a[i * n + j] = s;
      }
    }
    const rhs = Float64Array.from({ length: n }, () => rng.normal());
    const x = solveSpd(a, rhs, n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j]! * x[j]!;
      assert.ok(Math.abs(s - rhs[i]!) < 1e-10);
    }
  });

  it("refuses a matrix that is not positive definite", () => {
    assert.throws(() => solveSpd(Float64Array.of(1, 2, 2, 1), Float64Array.of(1, 1), 2), RangeError);
  });
});
