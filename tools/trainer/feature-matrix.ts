import { type EntityValues, buildVector, vectorLength, type FeatureSpec } from "../../services/lib/model/index.js";
import type { DataRow } from "./data-row.js";
import type { Matrix } from "./matrix.js";

/**
 * The feature matrix of some rows, one row per data row, built by the same buildVector the feature service
 * uses at serving time, so training and serving cannot disagree on a transform. Float32, like the served vector.
 * `entities[i]` holds row i's entity features (undefined: imputed, as for an unknown entity when serving).
 */
export function featureMatrix(
  spec: FeatureSpec,
  rows: readonly DataRow[],
  entities: readonly (EntityValues | undefined)[] = [],
): Matrix & { data: Float32Array } {
  const cols = vectorLength(spec);
  const data = new Float32Array(rows.length * cols);
  rows.forEach((row, i) => buildVector(spec, row, entities[i], data, i * cols));
  return { rows: rows.length, cols, data };
}

/** The label column as 0/1 values. */
export function labelVector(rows: readonly DataRow[], label: string): Float64Array {
  return Float64Array.from(rows, (row) => row[label]!);
}
