import { buildVector, featureColumns, type FeatureSpec } from "../lib/feature-spec.js";

/** models/<model>/golden.json: raw rows and the exact float32 vectors (and imputed features) the spec makes of them. */
export interface GoldenFile {
  feature_spec_hash: string;
  columns: string[];
  cases: { inputs: Record<string, number>; vector: number[]; imputed: string[] }[];
}

/**
 * Golden vectors of a spec: what buildVector makes of each raw row, written at training time. Values are the
 * float32s themselves (written as the float64 that equals them), so a test can demand bit-exact equality.
 */
export function goldenVectors(spec: FeatureSpec, hash: string, rows: readonly Record<string, number>[]): GoldenFile {
  return {
    feature_spec_hash: hash,
    columns: featureColumns(spec),
    cases: rows.map((inputs) => {
      const { vector, imputed } = buildVector(spec, inputs);
      return { inputs, vector: Array.from(vector), imputed };
    }),
  };
}
