import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import {
  parseSnapshot,
  serializeSnapshot,
  snapshotFileName,
  type EntityValues,
  featureColumns,
  specHash,
  type FeatureSpec,
  type ModelCard,
  type ReferenceProfile,
  type TreeEnsemble,
} from "../../services/lib/model/index.js";
import { modelCard } from "./card.js";
import { cardSections } from "./card-sections.js";
import { checkRows, requireColumns } from "./check-rows.js";
import { classWeights } from "./class-weight.js";
import { parseCsv, type CsvTable } from "./csv.js";
import type { DataRow } from "./data-row.js";
import { TrainingDataError } from "./errors.js";
import { featureMatrix, labelVector } from "./feature-matrix.js";
import { goldenVectors, type GoldenFile, type GoldenRow } from "./golden.js";
import { fitGradientBoosting } from "./gradient-boosting.js";
import { fitLogisticRegression } from "./logistic-regression.js";
import type { Matrix } from "./matrix.js";
import { holdoutMetrics, quantile } from "./metrics.js";
import type { EntityRecipe, ModelFamily, VersionRecipe } from "./model-family.js";
import { logisticRegressionOnnx, treeEnsembleOnnx } from "./onnx-export.js";
import { scoreWithOnnx } from "./onnx-scorer.js";
import { calibration, histogram } from "./profile.js";
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
  /** Raw rows and the vectors buildVector made of them: the feature service must reproduce them exactly. */
  golden: GoldenFile;
  versions: TrainedVersion[];
  /** The entity snapshot the models were trained with (families with entity features). */
  entitySnapshot?: { fileName: string; text: string };
}

/**
 * Trains every version of a family from a CSV file, in memory: build the entity snapshot of the data (if the
 * family has entity features) and join every row to its entity by id through the snapshot's text, split, fit
 * the spec on the training rows, build the matrices with buildVector, fit each version, export it to ONNX, and evaluate the ONNX file itself
 * (through onnxruntime-node) on the holdout rows. Deterministic: the same code and data give the same bytes.
 */
export async function trainFamily(family: ModelFamily, dataPath: string): Promise<TrainedFamily> {
  const data = prepareFamilyData(family, dataPath);
  const { spec, hash, columns, xTrain, yTrain, xHoldout, yHoldout, holdoutRows, entitySnapshot, lookup } = data;
  const { trainRows, dataSha256, table } = data;
  const inputProfile = Object.fromEntries(
    family.inputs.map((input) => [input.name, histogram(holdoutRows.map((r) => r[input.name]!))]),
  );

  const versions: TrainedVersion[] = [];
  for (const recipe of family.versions) {
    const metadata = { model: family.model, version: recipe.version, feature_spec_hash: hash };
    const common = {
      graphName: family.model,
      modelVersion: BigInt(recipe.version),
      inputDoc: `feature vector (buildVector of spec ${hash}): ${columns.join(", ")}`,
      docString: recipe.description,
      metadata,
    };
    const fitted = fitVersion(recipe, xTrain, yTrain);
    const onnx =
      fitted.kind === "linear"
        ? logisticRegressionOnnx({ ...common, weights: fitted.coefficients, bias: fitted.intercept })
        : treeEnsembleOnnx({ ...common, ensemble: fitted.ensemble, features: columns.length });
    const scores = await scoreWithOnnx(onnx, xHoldout);
    const calib = calibration(scores, yHoldout);
    const profile: ReferenceProfile = { rows: holdoutRows.length, inputs: inputProfile, score: histogram(scores) };

    const card = modelCard({
      spec,
      specHash: hash,
      recipe,
      ...(fitted.kind === "linear"
        ? { linear: { intercept: fitted.intercept, coefficients: fitted.coefficients, means: columnMeans(xTrain) } }
        : { ensemble: fitted.ensemble }),
      metrics: { ...holdoutMetrics(scores, yHoldout), calibration_error: calib.error },
      calibration: calib.table,
      profile,
      thresholds: {
        review: quantile(scores, family.thresholdQuantiles.review),
        decline: quantile(scores, family.thresholdQuantiles.decline),
      },
      training: {
        dataFile: basename(dataPath),
        dataSha256,
        trainRows: trainRows.length,
        holdoutRows: holdoutRows.length,
        seed: family.split.seed,
        ...(entitySnapshot
          ? {
              entitySnapshot: {
                file: `entities/${entitySnapshot.fileName}`,
                sha256: createHash("sha256").update(entitySnapshot.text).digest("hex"),
                entities: lookup.size,
              },
            }
          : {}),
        extra: fitted.extra,
      },
    });
    const held = { spec, totalRows: table.rows.length, holdoutRows, yHoldout };
    Object.assign(card, cardSections(family, recipe.version, held, scores, card.thresholds));
    versions.push({ card, onnx, converged: fitted.converged });
  }
  const golden = goldenVectors(spec, hash, goldenRows(table.rows, family), (id) => lookup.get(id));
  return { spec, golden, versions, ...(entitySnapshot ? { entitySnapshot } : {}) };
}

/** A family's data as training sees it: the checked table, the split, the fitted spec and both matrices. */
export interface FamilyData {
  table: CsvTable;
  dataSha256: string;
  entitySnapshot?: { fileName: string; text: string };
  lookup: ReadonlyMap<string, EntityValues>;
  trainRows: DataRow[];
  holdoutRows: DataRow[];
  spec: FeatureSpec;
  hash: string;
  columns: string[];
  xTrain: Matrix & { data: Float32Array };
  yTrain: Float64Array;
  xHoldout: Matrix & { data: Float32Array };
  yHoldout: Float64Array;
}

/**
 * Reads and checks a family's CSV file, builds the entity snapshot of the data (if the family has entity
 * features) and joins every row to its entity by id through the snapshot's text, splits, fits the spec on the
 * training rows and builds both matrices with buildVector. Deterministic.
 */
export function prepareFamilyData(family: ModelFamily, dataPath: string): FamilyData {
  const bytes = readFileSync(dataPath);
  const table = withLabel(family, parseCsv(bytes.toString("utf8"), dataPath), dataPath);
  requireColumns(table.columns, [...family.inputs.map((i) => i.name), family.label], dataPath);
  checkRows(family.inputs, table.rows, family.label, dataPath);
  const dataSha256 = createHash("sha256").update(bytes).digest("hex");
  const entitySnapshot = family.entities
    ? buildEntitySnapshot(family.model, family.entities, table.rows, { file: basename(dataPath), sha256: dataSha256 })
    : undefined;
  // The join: row i's entity, by id, as the snapshot file holds it (what the feature service will look up).
  const lookup = entitySnapshot
    ? parseSnapshot(entitySnapshot.text, { source: entitySnapshot.fileName, model: family.model }).entities
    : new Map<string, EntityValues>();
  const entityOf = (i: number) => (family.entities ? lookup.get(family.entities.idOf(i)) : undefined);
  const split = splitRows(table.rows.length, family.split);
  const trainRows = split.train.map((i) => table.rows[i]!);
  const trainEntities = split.train.map(entityOf);
  const holdoutRows = split.holdout.map((i) => table.rows[i]!);
  const holdoutEntities = split.holdout.map(entityOf);

  const spec = family.spec(trainRows, trainEntities);
  const hash = specHash(spec);
  const columns = featureColumns(spec);

  const xTrain = featureMatrix(spec, trainRows, trainEntities);
  const yTrain = labelVector(trainRows, family.label);
  const xHoldout = featureMatrix(spec, holdoutRows, holdoutEntities);
  const yHoldout = labelVector(holdoutRows, family.label);
  return {
    table,
    dataSha256,
    ...(entitySnapshot ? { entitySnapshot } : {}),
    lookup,
    trainRows,
    holdoutRows,
    spec,
    hash,
    columns,
    xTrain,
    yTrain,
    xHoldout,
    yHoldout,
  };
}

/** The entity snapshot of a data file: one entity per row, in file order. */
function buildEntitySnapshot(
  model: string,
  recipe: EntityRecipe,
  rows: readonly DataRow[],
  source: { file: string; sha256: string },
): { fileName: string; text: string } {
  const text = serializeSnapshot(
    {
      model,
      created_at: recipe.createdAt,
      columns: recipe.features,
      source: { ...source, id_rule: recipe.idRule },
    },
    rows.map((row, i) => [recipe.idOf(i), recipe.compute(row)] as const),
  );
  return { fileName: snapshotFileName(recipe.createdAt), text };
}

type Fitted =
  | {
      kind: "linear";
      intercept: number;
      coefficients: Float32Array;
      converged: boolean;
      extra: Record<string, unknown>;
    }
  | { kind: "trees"; ensemble: TreeEnsemble; converged: boolean; extra: Record<string, unknown> };

function fitVersion(recipe: VersionRecipe, x: Matrix & { data: Float32Array }, y: Float64Array): Fitted {
  if (recipe.algorithm === "logistic_regression") {
    const { positiveWeight, sampleWeights } = classWeights(y, recipe.classWeight);
    const fit = fitLogisticRegression(x, y, { l2: recipe.l2, sampleWeights });
    // The served model is float32; the card describes that model, not the float64 solution.
    return {
      kind: "linear",
      coefficients: Float32Array.from(fit.coefficients),
      intercept: Math.fround(fit.intercept),
      converged: fit.converged,
      extra: { positive_weight: positiveWeight, iterations: fit.iterations },
    };
  }
  return { kind: "trees", ensemble: fitGradientBoosting(x, y, recipe.options), converged: true, extra: {} };
}

function columnMeans(x: Matrix & { data: Float32Array }): Float64Array {
  const means = new Float64Array(x.cols);
  for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.cols; j++) means[j]! += x.data[i * x.cols + j]!;
  return means.map((m) => m / x.rows);
}

/**
 * The rows of the golden file: the first 40 rows of the data (with their entity ids when the family has
 * entities), then the family's variants of the first row that exercise the edges of the spec and, for families
 * with entities, of the entity lookup (no entity id, an id the snapshot does not know).
 */
function goldenRows(rows: readonly DataRow[], family: ModelFamily): GoldenRow[] {
  const { entities } = family;
  const pick = (r: DataRow) => Object.fromEntries(family.inputs.map((i) => [i.name, r[i.name]!]));
  const id = (i: number) => (entities ? { entity_id: entities.idOf(i) } : {});
  const base: GoldenRow[] = rows.slice(0, 40).map((r, i) => ({ ...id(i), inputs: pick(r) }));
  const first = base[0]!.inputs;
  return [
    ...base,
    ...family.goldenVariants(first).map((inputs) => ({ ...id(0), inputs })),
    ...(entities ? [{ inputs: first }, { entity_id: "unknown-entity", inputs: first }] : []),
  ];
}

/**
 * The table with the family's label column: as read for a family whose label is a column of the data,
 * with the derived column added for one that has `labelOf`.
 */
function withLabel(family: ModelFamily, table: CsvTable, source: string): CsvTable {
  const { labelOf } = family;
  if (!labelOf) return table;
  if (table.columns.includes(family.label)) {
    throw new TrainingDataError(`${source}: already has a column ${family.label}, the label ${family.model} derives`);
  }
  return {
    columns: [...table.columns, family.label],
    rows: table.rows.map((row) => ({ ...row, [family.label]: labelOf(row) })),
  };
}
