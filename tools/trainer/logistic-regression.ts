import { solveSpd } from "./cholesky.js";
import type { Matrix } from "./matrix.js";

export interface LogisticRegressionOptions {
  /** L2 penalty λ on the coefficients (not the intercept): the objective adds λ/2 · ‖w‖². Default 0. */
  l2?: number;
  /** A weight per row (e.g. class weights); default 1 for every row. */
  sampleWeights?: ArrayLike<number>;
  /** Stop when the largest change of a parameter in one Newton step is below this. Default 1e-10. */
  tolerance?: number;
  /** Stop after this many Newton steps, converged or not. Default 50. */
  maxIterations?: number;
}

export interface LogisticRegressionFit {
  intercept: number;
  coefficients: number[];
  /** Newton steps taken. */
  iterations: number;
  converged: boolean;
  /** The penalized objective at the solution: Σ sᵢ · logloss(yᵢ, pᵢ) + λ/2 · ‖w‖². */
  objective: number;
}

/**
 * Fits P(y = 1 | x) = σ(b + w·x) by Newton's method (iteratively reweighted least squares), minimizing the
 * weighted log loss plus an L2 penalty on w. Starts from zero and halves a step that would raise the objective,
 * so it is deterministic and converges on any data where the penalized problem has a unique minimum.
 * Pure: no I/O, no randomness.
 *
 * @example
 * const fit = fitLogisticRegression(x, y, { l2: 1 });
 * const p = 1 / (1 + Math.exp(-(fit.intercept + dot(fit.coefficients, row))));
 */
export function fitLogisticRegression(
  x: Matrix,
  y: ArrayLike<number>,
  { l2 = 0, sampleWeights, tolerance = 1e-10, maxIterations = 50 }: LogisticRegressionOptions = {},
): LogisticRegressionFit {
  const { rows: n, cols: d, data } = x;
  if (y.length !== n) throw new RangeError(`${n} rows but ${y.length} labels`);
  if (sampleWeights && sampleWeights.length !== n) {
    throw new RangeError(`${n} rows but ${sampleWeights.length} weights`);
  }
  const p = d + 1; // parameter 0 is the intercept
  const weight = (i: number) => (sampleWeights ? sampleWeights[i]! : 1);
  const feature = (i: number, j: number) => (j === 0 ? 1 : data[i * d + j - 1]!);

  const logit = (beta: Float64Array, i: number): number => {
    let eta = beta[0]!;
    for (let j = 0; j < d; j++) eta += beta[j + 1]! * data[i * d + j]!;
    return eta;
  };
  const objective = (beta: Float64Array): number => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const eta = logit(beta, i);
      sum += weight(i) * (softplus(eta) - y[i]! * eta);
    }
    let penalty = 0;
    for (let j = 1; j < p; j++) penalty += beta[j]! * beta[j]!;
    return sum + (l2 / 2) * penalty;
  };

  let beta: Float64Array = new Float64Array(p);
  let current = objective(beta);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    // Gradient g = Xᵀ S (μ − y) + λ w and Hessian H = Xᵀ S diag(μ(1−μ)) X + λ I (intercept unpenalized).
    const gradient = new Float64Array(p);
    const hessian = new Float64Array(p * p);
    for (let i = 0; i < n; i++) {
      const mu = sigmoid(logit(beta, i));
      const s = weight(i);
      const r = s * (mu - y[i]!);
      const h = s * mu * (1 - mu);
      for (let j = 0; j < p; j++) {
        const xj = feature(i, j);
        gradient[j]! += r * xj;
        const hj = h * xj;
        for (let k = 0; k <= j; k++) hessian[j * p + k]! += hj * feature(i, k);
      }
    }
    for (let j = 1; j < p; j++) {
      gradient[j]! += l2 * beta[j]!;
      hessian[j * p + j]! += l2;
    }
    const step = solveSpd(hessian, gradient, p);

    let scale = 1;
    let next = subtract(beta, step, scale);
    let value = objective(next);
    for (let halvings = 0; value > current && halvings < 30; halvings++) {
      scale /= 2;
      next = subtract(beta, step, scale);
      value = objective(next);
    }
    iterations++;
    let largest = 0;
    for (let j = 0; j < p; j++) largest = Math.max(largest, Math.abs(next[j]! - beta[j]!));
    beta = next;
    current = value;
    if (largest < tolerance) {
      converged = true;
      break;
    }
  }
  return {
    intercept: beta[0]!,
    coefficients: Array.from(beta.subarray(1)),
    iterations,
    converged,
    objective: current,
  };
}

export function sigmoid(eta: number): number {
  return 1 / (1 + Math.exp(-eta));
}

/** log(1 + eᵗ) without overflow. */
function softplus(t: number): number {
  return t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
}

function subtract(beta: Float64Array, step: Float64Array, scale: number): Float64Array {
  const out = new Float64Array(beta.length);
  for (let j = 0; j < beta.length; j++) out[j] = beta[j]! - scale * step[j]!;
  return out;
}
