import { type EntityValues, buildVector, featureColumns, type FeatureSpec } from "../../services/lib/model/index.js";

/**
 * models/<model>/golden.json: raw rows (inputs and, for families with entity features, the entity id) and the
 * exact float32 vectors (and imputed features) the spec makes of them with the shipped entity snapshot.
 */
export interface GoldenFile {
  feature_spec_hash: string;
  columns: string[];
  cases: (GoldenRow & { vector: number[]; imputed: string[] })[];
}

/** One raw row: what a request carries. */
export interface GoldenRow {
  entity_id?: string;
  inputs: Record<string, number>;
}

/**
 * Golden vectors of a spec: what buildVector makes of each raw row (its entity's features looked up with
 * `entity`), written at training time. Values are the float32s themselves (written as the float64 that equals
 * them), so a test can demand bit-exact equality.
 */
export function goldenVectors(
  spec: FeatureSpec,
  hash: string,
  rows: readonly GoldenRow[],
  entity: (id: string) => EntityValues | undefined = () => undefined,
): GoldenFile {
  return {
    feature_spec_hash: hash,
    columns: featureColumns(spec),
    cases: rows.map((row) => {
      const { vector, imputed } = buildVector(spec, row.inputs, row.entity_id ? entity(row.entity_id) : undefined);
      return { ...row, vector: Array.from(vector), imputed };
    }),
  };
}
