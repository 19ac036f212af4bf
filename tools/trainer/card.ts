import {
  featureColumns,
  type FeatureSpec,
  type ModelCard,
  type ReferenceProfile,
  type TreeEnsemble,
  treeDepth,
} from "../../services/lib/model/index.js";
import type { HoldoutMetrics } from "./metrics.js";
import type { VersionRecipe } from "./model-family.js";
import type { CalibrationBin } from "./profile.js";
import { roundDecimals, shortestFloat32 } from "./rounding.js";

export interface CardInput {
  spec: FeatureSpec;
  specHash: string;
  recipe: VersionRecipe;
  /** Logistic regression: the model's float32 weights as the ONNX file holds them, and the mean training vector. */
  linear?: { intercept: number; coefficients: ArrayLike<number>; means: ArrayLike<number> };
  /** Tree models: the ensemble (summarized on the card; the trees are in model.onnx). */
  ensemble?: TreeEnsemble;
  metrics: HoldoutMetrics & { calibration_error: number };
  calibration: CalibrationBin[];
  profile: ReferenceProfile;
  thresholds: { review: number; decline: number };
  training: {
    dataFile: string;
    dataSha256: string;
    trainRows: number;
    holdoutRows: number;
    seed: number;
    /** The entity snapshot the rows were joined with (families with entity features). */
    entitySnapshot?: { file: string; sha256: string; entities: number };
    /** Algorithm-specific facts (iterations, positive weight, ...). */
    extra: Record<string, unknown>;
  };
}

/**
 * The card of a trained version. Holds nothing that changes between runs (no timestamps, no paths of the
 * machine), so the same code and data give the same card byte for byte. Metrics, thresholds and calibration are
 * rounded to 4 decimals; weights are written as the shortest decimals that read back as the model's float32s.
 */
export function modelCard(input: CardInput): ModelCard {
  const { spec, recipe, metrics, training } = input;
  const columns = featureColumns(spec);
  const r4 = (x: number) => roundDecimals(x, 4);
  const card: ModelCard = {
    model: spec.model,
    version: recipe.version,
    description: recipe.description,
    algorithm: recipe.algorithm,
    feature_spec_hash: input.specHash,
    features: columns,
    onnx: {
      file: "model.onnx",
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, columns.length] }],
      outputs: [{ name: "probability", datatype: "FP32", shape: [-1, 1] }],
      score_output: "probability",
    },
    thresholds: { review: r4(input.thresholds.review), decline: r4(input.thresholds.decline) },
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]: [string, number]) => [k, r4(v)])),
    calibration: input.calibration.map((b) => ({
      mean_score: r4(b.mean_score),
      observed_rate: r4(b.observed_rate),
      rows: b.rows,
    })),
    training: {
      data_file: training.dataFile,
      data_sha256: training.dataSha256,
      ...(training.entitySnapshot ? { entity_snapshot: training.entitySnapshot } : {}),
      train_rows: training.trainRows,
      holdout_rows: training.holdoutRows,
      seed: training.seed,
      ...(recipe.algorithm === "logistic_regression"
        ? { l2: recipe.l2, class_weight: recipe.classWeight }
        : { ...recipe.options }),
      ...training.extra,
    },
  };
  if (input.linear) {
    card.linear = {
      intercept: shortestFloat32(input.linear.intercept),
      coefficients: Array.from(input.linear.coefficients, shortestFloat32),
      means: Array.from(input.linear.means, shortestFloat32),
    };
  }
  if (input.ensemble) {
    const trees = input.ensemble.trees;
    card.trees = {
      count: trees.length,
      max_depth: Math.max(0, ...trees.map((t) => treeDepth(t))),
      leaves: trees.reduce((s, t) => s + t.left.filter((c) => c < 0).length, 0),
    };
  }
  card.profile = input.profile;
  if (recipe.seedChampion) card.seed_champion = true;
  return card;
}
