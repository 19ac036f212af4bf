import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { brierScore, ksStatistic, logLoss, quantile, rocAuc } from "../../../tools/trainer/metrics.js";
import { createRng } from "../../../tools/trainer/rng.js";

/** Scores with many ties (rounded to 0.05) and labels that depend on them. */
function sample(n: number, seed: number) {
  const rng = createRng(seed);
  const scores = Float64Array.from({ length: n }, () => Math.round(rng.next() * 20) / 20);
  const labels = Float64Array.from(scores, (s) => (rng.next() < 0.2 + 0.5 * s ? 1 : 0));
  return { scores, labels };
}

describe("metrics", () => {
  it("ROC AUC is the probability that a positive outscores a negative, ties counted half", () => {
    const { scores, labels } = sample(600, 1);
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < scores.length; i++) {
      if (labels[i] !== 1) continue;
      for (let j = 0; j < scores.length; j++) {
        if (labels[j] !== 0) continue;
        pairs++;
        wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
    assert.ok(Math.abs(rocAuc(scores, labels) - wins / pairs) < 1e-12);
  });

  it("KS is the largest gap between the classes' score distributions", () => {
    const { scores, labels } = sample(600, 2);
    const pos = Array.from(scores).filter((_, i) => labels[i] === 1);
    const neg = Array.from(scores).filter((_, i) => labels[i] === 0);
    let best = 0;
    for (const t of new Set(scores)) {
      const cdf = (xs: number[]) => xs.filter((x) => x <= t).length / xs.length;
      best = Math.max(best, Math.abs(cdf(pos) - cdf(neg)));
    }
    assert.ok(Math.abs(ksStatistic(scores, labels) - best) < 1e-12);
  });

  it("log loss and Brier score of a perfect and of a coin-flip forecaster", () => {
    const labels = [1, 0, 1, 0];
    assert.ok(logLoss([1, 0, 1, 0], labels) < 1e-12);
    assert.equal(brierScore([1, 0, 1, 0], labels), 0);
    assert.ok(Math.abs(logLoss([0.5, 0.5, 0.5, 0.5], labels) - Math.LN2) < 1e-12);
    assert.equal(brierScore([0.5, 0.5, 0.5, 0.5], labels), 0.25);
  });

  it("quantile interpolates between order statistics", () => {
    const rng = createRng(3);
    const values = Array.from({ length: 101 }, () => rng.next());
    const sorted = [...values].sort((a, b) => a - b);
    assert.equal(quantile(values, 0.5), sorted[50]);
    assert.equal(quantile(values, 0), sorted[0]);
    assert.equal(quantile(values, 1), sorted[100]);
    const q = quantile(values, 0.755); // between order statistics 75 and 76
    assert.ok(Math.abs(q - (sorted[75]! + 0.5 * (sorted[76]! - sorted[75]!))) < 1e-12);
  });
});
