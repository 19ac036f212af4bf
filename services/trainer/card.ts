import type { FeatureSpec } from "../lib/feature-spec.js";
import type { ModelCard } from "../lib/model-card.js";
import type { HoldoutMetrics } from "./metrics.js";
import type { VersionRecipe } from "./model-family.js";
import { roundDecimals, shortestFloat32 } from "./rounding.js";

export interface CardInput {
  spec: FeatureSpec;
  specHash: string;
  recipe: VersionRecipe;
  /** The model's float32 weights, as the ONNX file holds them. */
  intercept: number;
  coefficients: ArrayLike<number>;
  metrics: HoldoutMetrics;
  thresholds: { review: number; decline: number };
  training: {
    dataFile: string;
    dataSha256: string;
    trainRows: number;
    holdoutRows: number;
    seed: number;
    positiveWeight: number;
    iterations: number;
  };
}

/**
 * The card of a trained logistic regression. Holds nothing that changes between runs (no timestamps, no
 * paths of the machine), so the same code and data give the same card byte for byte. Metrics and thresholds
 * are rounded to 4 decimals; weights are written as the shortest decimals that read back as the model's float32s.
 */
export function logisticRegressionCard(input: CardInput): ModelCard {
  const { spec, recipe, metrics, training } = input;
  const d = spec.features.length;
  return {
    model: spec.model,
    version: recipe.version,
    description: recipe.description,
    algorithm: "logistic_regression",
    feature_spec_hash: input.specHash,
    features: spec.features.map((f) => f.name),
    onnx: {
      file: "model.onnx",
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, d] }],
      outputs: [{ name: "probability", datatype: "FP32", shape: [-1, 1] }],
      score_output: "probability",
    },
    thresholds: {
      review: roundDecimals(input.thresholds.review, 4),
      decline: roundDecimals(input.thresholds.decline, 4),
    },
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, roundDecimals(v, 4)])),
    training: {
      data_file: training.dataFile,
      data_sha256: training.dataSha256,
      train_rows: training.trainRows,
      holdout_rows: training.holdoutRows,
      seed: training.seed,
      l2: recipe.l2,
      class_weight: recipe.classWeight,
      positive_weight: training.positiveWeight,
      iterations: training.iterations,
    },
    linear: {
      intercept: shortestFloat32(input.intercept),
      coefficients: Array.from(input.coefficients, shortestFloat32),
    },
  };
}
