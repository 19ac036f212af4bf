import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readTreeEnsemble } from "../../../services/router/explain/onnx-trees.js";
import { predictRaw } from "../../../services/lib/model/index.js";
import { fitGradientBoosting } from "../../../tools/trainer/gradient-boosting.js";
import { sigmoid } from "../../../tools/trainer/logistic-regression.js";
import { rocAuc } from "../../../tools/trainer/metrics.js";
import { treeEnsembleOnnx } from "../../../tools/trainer/onnx-export.js";
import { scoreWithOnnx } from "../../../tools/trainer/onnx-scorer.js";
import { createRng } from "../../../tools/trainer/rng.js";

/** Synthetic data with an interaction that a linear model cannot fit: y ~ Bernoulli(σ(3·x0·x1 + x2)). */
function synthetic(n: number, seed: number) {
  const rng = createRng(seed);
  const d = 4;
  const data = new Float32Array(n * d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) data[i * d + j] = rng.normal();
    const eta = 3 * data[i * d]! * data[i * d + 1]! + data[i * d + 2]!;
    y[i] = rng.next() < sigmoid(eta) ? 1 : 0;
  }
  return { x: { rows: n, cols: d, data }, y };
}

describe("fitGradientBoosting", () => {
  const train = synthetic(3000, 1);
  const test = synthetic(1000, 2);
  const options = { rounds: 60, learningRate: 0.2, maxDepth: 3, rowSubsample: 0.8, seed: 5 };
  const model = fitGradientBoosting(train.x, train.y, options);

  it("learns an interaction (held-out ROC AUC well above chance)", () => {
    const scores = Array.from({ length: test.x.rows }, (_, i) => predictRaw(model, test.x.data, i * test.x.cols));
    assert.ok(rocAuc(scores, test.y) > 0.8, `ROC AUC ${rocAuc(scores, test.y)}`);
  });

  it("is deterministic with a seed, and the seed matters when rows are subsampled", () => {
    assert.deepEqual(fitGradientBoosting(train.x, train.y, options), model);
    assert.notDeepEqual(fitGradientBoosting(train.x, train.y, { ...options, seed: 6 }), model);
  });

  it("exports to an ONNX TreeEnsembleRegressor that onnxruntime scores as the trainer does, and reads back", async () => {
    const onnx = treeEnsembleOnnx({ graphName: "synthetic", modelVersion: 1n, ensemble: model, features: 4 });
    const scores = await scoreWithOnnx(onnx, test.x);
    let worst = 0;
    for (let i = 0; i < test.x.rows; i++)
      worst = Math.max(worst, Math.abs(scores[i]! - sigmoid(predictRaw(model, test.x.data, i * 4))));
    assert.ok(worst < 1e-5, `largest difference ${worst}`);
    assert.deepEqual(readTreeEnsemble(onnx), model);
  });
});
