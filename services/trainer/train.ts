import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { specHash, type FeatureSpec } from "../lib/feature-spec.js";
import type { ModelCard } from "../lib/model-card.js";
import { logisticRegressionCard } from "./card.js";
import { checkRows, requireColumns } from "./check-rows.js";
import { classWeights } from "./class-weight.js";
import { parseCsv } from "./csv.js";
import { featureMatrix, labelVector } from "./feature-matrix.js";
import { fitLogisticRegression } from "./logistic-regression.js";
import { holdoutMetrics, quantile } from "./metrics.js";
import type { ModelFamily } from "./model-family.js";
import { logisticRegressionOnnx } from "./onnx-export.js";
import { scoreWithOnnx } from "./onnx-scorer.js";
import { splitRows } from "./split.js";

export interface TrainedVersion {
  card: ModelCard;
  /** The serialized ONNX model. */
  onnx: Uint8Array;
  /** False when the solver stopped at its iteration limit. */
  converged: boolean;
}

export interface TrainedFamily {
  spec: FeatureSpec;
  versions: TrainedVersion[];
}

/**
 * Trains every version of a family from a CSV file, in memory: split, fit the spec on the training rows,
 * build the matrices with buildVector, fit each version, export it to ONNX, and evaluate the ONNX file itself
 * (through onnxruntime-node) on the holdout rows. Deterministic: the same code and data give the same bytes.
 */
export async function trainFamily(family: ModelFamily, dataPath: string): Promise<TrainedFamily> {
  const bytes = readFileSync(dataPath);
  const table = parseCsv(bytes.toString("utf8"), dataPath);
  requireColumns(table.columns, [...family.inputs.map((i) => i.name), family.label], dataPath);
  checkRows(family.inputs, table.rows, family.label, dataPath);
  const split = splitRows(table.rows.length, family.split);
  const trainRows = split.train.map((i) => table.rows[i]!);
  const holdoutRows = split.holdout.map((i) => table.rows[i]!);

  const spec = family.spec(trainRows);
  const hash = specHash(spec);

  const xTrain = featureMatrix(spec, trainRows);
  const yTrain = labelVector(trainRows, family.label);
  const xHoldout = featureMatrix(spec, holdoutRows);
  const yHoldout = labelVector(holdoutRows, family.label);

  const versions: TrainedVersion[] = [];
  for (const recipe of family.versions) {
    const { positiveWeight, sampleWeights } = classWeights(yTrain, recipe.classWeight);
    const fit = fitLogisticRegression(xTrain, yTrain, { l2: recipe.l2, sampleWeights });
    // The served model is float32; the card describes that model, not the float64 solution.
    const coefficients = Float32Array.from(fit.coefficients);
    const intercept = Math.fround(fit.intercept);

    const onnx = logisticRegressionOnnx({
      graphName: family.model,
      modelVersion: BigInt(recipe.version),
      weights: coefficients,
      bias: intercept,
      inputDoc: `feature vector (buildVector of spec ${hash}): ${spec.features.map((f) => f.name).join(", ")}`,
      docString: recipe.description,
      metadata: { model: family.model, version: recipe.version, feature_spec_hash: hash },
    });
    const scores = await scoreWithOnnx(onnx, xHoldout);

    const card = logisticRegressionCard({
      spec,
      specHash: hash,
      recipe,
      intercept,
      coefficients,
      metrics: holdoutMetrics(scores, yHoldout),
      thresholds: {
        review: quantile(scores, family.thresholdQuantiles.review),
        decline: quantile(scores, family.thresholdQuantiles.decline),
      },
      training: {
        dataFile: basename(dataPath),
        dataSha256: createHash("sha256").update(bytes).digest("hex"),
        trainRows: trainRows.length,
        holdoutRows: holdoutRows.length,
        seed: family.split.seed,
        positiveWeight,
        iterations: fit.iterations,
      },
    });
    versions.push({ card, onnx, converged: fit.converged });
  }
  return { spec, versions };
}
