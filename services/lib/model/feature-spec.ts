import { createHash } from "node:crypto";

/**
 * The declarative feature spec of a model family (models/<model>/spec.json): the inputs a request carries
 * (the validator checks them) and how the feature vector is built from them (the feature service builds it,
 * and the training kit builds its training matrix with this very code). Every model card records the hash of
 * the spec it was trained with; a vector built with one spec is never scored by a model trained on another.
 *
 * Each feature reads one raw value from its source (a request input, an entity feature looked up by
 * `entity_id`, or a value derived from request inputs), replaces it with the feature's safe default when the
 * source is missing (and flags the feature as imputed), then applies its transforms in order. A feature is one
 * column of the vector, except a feature whose last transform is `one_hot`, which is one column per category.
 */
export interface FeatureSpec {
  /** The model family, e.g. "credit-default". */
  model: string;
  description: string;
  /** What a request's `inputs` may carry. */
  inputs: InputSpec[];
  /** The entity features a snapshot provides per entity id (see entity-snapshot.ts); may be empty. */
  entity_features?: EntityFeatureSpec[];
  /** The features, in vector order. */
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

export interface EntityFeatureSpec {
  name: string;
  description: string;
}

/** Where a feature's raw value comes from. */
export type Source =
  /** A request input, by name. */
  | { kind: "input"; name: string }
  /** A precomputed per-entity value from the entity snapshot, looked up by the request's entity_id. */
  | { kind: "entity"; name: string }
  /** A value computed from request inputs (missing when any of them is). */
  | { kind: "derived"; op: DerivedOp; of: string[]; threshold?: number };

/**
 * - `ratio`: of[0] / of[1] (0 when of[1] is 0);
 * - `sum`, `mean`, `max`, `min` of the inputs;
 * - `count_at_least`: how many of the inputs are ≥ `threshold` (e.g. months with a payment delay).
 */
export type DerivedOp = "ratio" | "sum" | "mean" | "max" | "min" | "count_at_least";

export type Transform =
  | { kind: "identity" }
  /** (x − mean) / std. */
  | { kind: "standardize"; mean: number; std: number }
  /** min(max(x, min), max). */
  | { kind: "clip"; min: number; max: number }
  /** Signed log: sign(x) · ln(1 + |x|), defined for every x. */
  | { kind: "log" }
  /** The index of the first edge greater than x (0 … edges.length); edges ascending. */
  | { kind: "bucketize"; edges: number[] }
  /** One column per category, 1 where x equals it; a value not listed gives all zeros. Last transform only. */
  | { kind: "one_hot"; categories: number[] };

export interface FeatureDef {
  name: string;
  source: Source;
  /** Applied in order to the raw value. */
  transforms: Transform[];
  /** The raw value used when the source is missing (the feature is then flagged as imputed). */
  default: number;
  description?: string;
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

/** Applies one scalar transform (every kind but one_hot). */
export function applyTransform(t: Exclude<Transform, { kind: "one_hot" }>, x: number): number {
  switch (t.kind) {
    case "identity":
      return x;
    case "standardize":
      return (x - t.mean) / t.std;
    case "clip":
      return Math.min(Math.max(x, t.min), t.max);
    case "log":
      return Math.sign(x) * Math.log1p(Math.abs(x));
    case "bucketize": {
      let k = 0;
      while (k < t.edges.length && !(x < t.edges[k]!)) k++;
      return k;
    }
  }
}

/** The raw value of a source for one row, or undefined when it is missing. */
export function sourceValue(
  source: Source,
  inputs: Readonly<Record<string, number | undefined>>,
  entity?: Readonly<Record<string, number | undefined>>,
): number | undefined {
  const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : undefined);
  switch (source.kind) {
    case "input":
      return finite(inputs[source.name]);
    case "entity":
      return entity ? finite(entity[source.name]) : undefined;
    case "derived": {
      const xs: number[] = [];
      for (const name of source.of) {
        const v = finite(inputs[name]);
        if (v === undefined) return undefined;
        xs.push(v);
      }
      return finite(derive(source.op, xs, source.threshold));
    }
  }
}

function derive(op: DerivedOp, xs: number[], threshold = 0): number {
  switch (op) {
    case "ratio":
      return xs[1] === 0 ? 0 : xs[0]! / xs[1]!;
    case "sum":
      return xs.reduce((a, b) => a + b, 0);
    case "mean":
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    case "max":
      return Math.max(...xs);
    case "min":
      return Math.min(...xs);
    case "count_at_least":
      return xs.filter((x) => x >= threshold).length;
  }
}

/** How many columns a feature occupies in the vector. */
export function featureWidth(f: FeatureDef): number {
  const last = f.transforms[f.transforms.length - 1];
  return last?.kind === "one_hot" ? last.categories.length : 1;
}

/** The vector's column names, in order: a feature's name, or "name=category" for one-hot columns. */
export function featureColumns(spec: FeatureSpec): string[] {
  return spec.features.flatMap((f) => {
    const last = f.transforms[f.transforms.length - 1];
    return last?.kind === "one_hot" ? last.categories.map((c) => `${f.name}=${c}`) : [f.name];
  });
}

/** The width of the spec's feature vector. */
export function vectorLength(spec: FeatureSpec): number {
  let n = 0;
  for (const f of spec.features) n += featureWidth(f);
  return n;
}

/** Checks a spec's structure (transform placement, known sources); throws a RangeError naming the feature. */
export function checkSpec(spec: FeatureSpec): void {
  const inputs = new Set(spec.inputs.map((i) => i.name));
  const entity = new Set((spec.entity_features ?? []).map((e) => e.name));
  const names = new Set<string>();
  for (const f of spec.features) {
    if (names.has(f.name)) throw new RangeError(`feature ${f.name}: duplicate name`);
    names.add(f.name);
    const s = f.source;
    const refs = s.kind === "derived" ? s.of : [s.name];
    for (const r of refs) {
      const known = s.kind === "entity" ? entity.has(r) : inputs.has(r);
      if (!known)
        throw new RangeError(`feature ${f.name}: unknown ${s.kind === "entity" ? "entity feature" : "input"} ${r}`);
      if (s.kind !== "entity" && spec.inputs.find((i) => i.name === r)?.sensitive) {
        throw new RangeError(`feature ${f.name}: ${r} is sensitive and never a model input`);
      }
    }
    if (s.kind === "derived" && s.op === "ratio" && s.of.length !== 2)
      throw new RangeError(`feature ${f.name}: ratio takes 2 inputs`);
    f.transforms.forEach((t, k) => {
      if (t.kind === "one_hot" && k !== f.transforms.length - 1)
        throw new RangeError(`feature ${f.name}: one_hot must be last`);
    });
    if (!Number.isFinite(f.default)) throw new RangeError(`feature ${f.name}: default must be a finite number`);
  }
}

export interface BuiltVector {
  vector: Float32Array;
  /** Names of features whose source was missing and took the spec's default. */
  imputed: string[];
}

/**
 * Builds the feature vector of one row. `entity` holds the row's entity features (undefined when the request
 * named no entity or the snapshot does not know it). `out` (optional) receives the vector at `offset`, so that
 * a batch can be built into one contiguous row-major buffer.
 *
 * @example buildVector(spec, { LIMIT_BAL: 50000, PAY_0: 2, ... }, snapshot.get("C-1042")).vector
 */
export function buildVector(
  spec: FeatureSpec,
  inputs: Readonly<Record<string, number | undefined>>,
  entity?: Readonly<Record<string, number | undefined>>,
  out?: Float32Array,
  offset = 0,
): BuiltVector {
  const width = vectorLength(spec);
  const vector = out ?? new Float32Array(width);
  const imputed: string[] = [];
  let col = offset;
  for (const f of spec.features) {
    let x = sourceValue(f.source, inputs, entity);
    if (x === undefined) {
      x = f.default;
      imputed.push(f.name);
    }
    let oneHot = false;
    for (const t of f.transforms) {
      if (t.kind === "one_hot") {
        for (const c of t.categories) vector[col++] = x === c ? 1 : 0;
        oneHot = true;
      } else {
        x = applyTransform(t, x);
      }
    }
    if (!oneHot) vector[col++] = x;
  }
  return { vector: out ? vector.subarray(offset, offset + width) : vector, imputed };
}

/** Segment labels of one row, e.g. { age_band: "25-34", sex: "female" }. */
export function segmentsOf(
  spec: Pick<FeatureSpec, "segments">,
  inputs: Readonly<Record<string, number | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of spec.segments) {
    const label = segmentLabel(s, inputs[s.source]);
    if (label !== undefined) out[s.name] = label;
  }
  return out;
}

/** The label one segment gives a value: "unknown" when missing; undefined for a segment with neither labels nor edges. */
export function segmentLabel(s: SegmentDef, v: number | undefined): string | undefined {
  if (v === undefined) return "unknown";
  if (s.labels) return s.labels[String(v)] ?? "other";
  if (s.edges) return binLabel(s.edges, v);
  return undefined;
}

function binLabel(edges: number[], v: number): string {
  let lo: number | undefined;
  for (const e of edges) {
    if (v < e) return lo === undefined ? `<${e}` : `${lo}-${e - 1}`;
    lo = e;
  }
  return `${lo}+`;
}
