import { createHash } from "node:crypto";

/**
 * The declarative feature spec of a model family (models/<model>/spec.json): the inputs a request carries
 * (the validator checks them) and how the feature vector is built from them (the feature service builds it,
 * and the training kit builds its training matrix with this very code). Every model card records the hash of
 * the spec it was trained with.
 */
export interface FeatureSpec {
  /** The model family, e.g. "credit-default". */
  model: string;
  description: string;
  /** What a request's `inputs` may carry. */
  inputs: InputSpec[];
  /** The feature vector, in order. */
  features: FeatureDef[];
  /** Coarse segment labels derived from inputs, for monitoring only (never model inputs). */
  segments: SegmentDef[];
}

export interface InputSpec {
  name: string;
  type: "number" | "integer";
  min: number;
  max: number;
  required: boolean;
  description: string;
  /** Protected or personal attribute: never a model input, never logged, only bucketed into segments. */
  sensitive?: boolean;
}

export type Transform =
  | { kind: "identity" }
  | { kind: "standardize"; mean: number; std: number };

export interface FeatureDef {
  name: string;
  /** The input the feature is read from. */
  source: string;
  transform: Transform;
  /** The raw value used when the input is missing (the feature is then flagged as imputed). */
  default: number;
}

export interface SegmentDef {
  name: string;
  source: string;
  /** Upper-exclusive bin edges; a value v falls in the first bin whose edge is greater than v. */
  edges?: number[];
  /** Labels for exact values (codes such as SEX); values not listed are labelled "other". */
  labels?: Record<string, string>;
}

/** Content hash of a spec: sha256 over its canonical JSON (sorted keys), "sha256:" + 16 hex digits. */
export function specHash(spec: FeatureSpec): string {
  return "sha256:" + createHash("sha256").update(canonicalJson(spec)).digest("hex").slice(0, 16);
}

/** JSON with object keys sorted at every level, so equal specs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return "{" + entries.map(([k, v]) => JSON.stringify(k) + ":" + canonicalJson(v)).join(",") + "}";
  }
  return JSON.stringify(value);
}

export function applyTransform(t: Transform, x: number): number {
  switch (t.kind) {
    case "identity":
      return x;
    case "standardize":
      return (x - t.mean) / t.std;
  }
}

export interface BuiltVector {
  vector: Float32Array;
  /** Names of features whose input was missing and took the spec's default. */
  imputed: string[];
}

/**
 * Builds the feature vector of one row. `out` (optional) receives the vector at `offset`, so that a batch
 * can be built into one contiguous row-major buffer.
 */
export function buildVector(
  spec: FeatureSpec,
  inputs: Readonly<Record<string, number | undefined>>,
  out?: Float32Array,
  offset = 0,
): BuiltVector {
  const vector = out ?? new Float32Array(spec.features.length);
  const imputed: string[] = [];
  for (let i = 0; i < spec.features.length; i++) {
    const f = spec.features[i]!;
    let raw = inputs[f.source];
    if (raw === undefined || !Number.isFinite(raw)) {
      raw = f.default;
      imputed.push(f.name);
    }
    vector[offset + i] = applyTransform(f.transform, raw);
  }
  return { vector: out ? vector.subarray(offset, offset + spec.features.length) : vector, imputed };
}

/** Segment labels of one row, e.g. { age_band: "25-34", sex: "female" }. */
export function segmentsOf(
  spec: FeatureSpec,
  inputs: Readonly<Record<string, number | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of spec.segments) {
    const v = inputs[s.source];
    if (v === undefined) {
      out[s.name] = "unknown";
    } else if (s.labels) {
      out[s.name] = s.labels[String(v)] ?? "other";
    } else if (s.edges) {
      out[s.name] = binLabel(s.edges, v);
    }
  }
  return out;
}

function binLabel(edges: number[], v: number): string {
  let lo: number | undefined;
  for (const e of edges) {
    if (v < e) return lo === undefined ? `<${e}` : `${lo}-${e - 1}`;
    lo = e;
  }
  return `${lo}+`;
}
