import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyTransform,
  buildVector,
  canonicalJson,
  checkSpec,
  featureColumns,
  segmentsOf,
  specHash,
  vectorLength,
  type FeatureSpec,
} from "../../../../services/lib/model/feature-spec.js";

const num = (name: string) => ({
  name,
  type: "number" as const,
  min: -1e9,
  max: 1e9,
  required: false,
  description: "",
});

const spec: FeatureSpec = {
  model: "toy",
  description: "",
  inputs: [num("A"), num("B"), num("C"), num("CODE"), { ...num("AGE"), sensitive: true }, num("SEX")],
  entity_features: [{ name: "late_count", description: "" }],
  features: [
    {
      name: "a",
      source: { kind: "input", name: "A" },
      transforms: [{ kind: "standardize", mean: 10, std: 2 }],
      default: 10,
    },
    { name: "b", source: { kind: "input", name: "B" }, transforms: [], default: -1 },
    {
      name: "code",
      source: { kind: "input", name: "CODE" },
      transforms: [{ kind: "one_hot", categories: [1, 2, 3] }],
      default: 2,
    },
    {
      name: "ratio",
      source: { kind: "derived", op: "ratio", of: ["A", "B"] },
      transforms: [{ kind: "clip", min: 0, max: 3 }],
      default: 1,
    },
    {
      name: "late",
      source: { kind: "derived", op: "count_at_least", of: ["A", "B", "C"], threshold: 1 },
      transforms: [],
      default: 0,
    },
    { name: "log_c", source: { kind: "input", name: "C" }, transforms: [{ kind: "log" }], default: 0 },
    {
      name: "c_band",
      source: { kind: "input", name: "C" },
      transforms: [{ kind: "bucketize", edges: [0, 10, 100] }],
      default: 0,
    },
    { name: "late_count", source: { kind: "entity", name: "late_count" }, transforms: [], default: 0.5 },
  ],
  segments: [
    { name: "age_band", source: "AGE", edges: [25, 35] },
    { name: "sex", source: "SEX", labels: { "1": "male", "2": "female" } },
  ],
};

test("vectors follow the spec's order, sources and transforms; one-hot features take a column per category", () => {
  assert.deepEqual(featureColumns(spec), [
    "a",
    "b",
    "code=1",
    "code=2",
    "code=3",
    "ratio",
    "late",
    "log_c",
    "c_band",
    "late_count",
  ]);
  assert.equal(vectorLength(spec), 10);
  const r = buildVector(spec, { A: 14, B: 2, C: 99, CODE: 3 }, { late_count: 4 });
  assert.deepEqual([...r.vector], [2, 2, 0, 0, 1, 3, 3, Math.fround(Math.log(100)), 2, 4]);
  assert.deepEqual(r.imputed, []);
});

test("missing or non-finite sources take the spec's default and are flagged; unknown codes one-hot to zeros", () => {
  const r = buildVector(spec, { B: Number.NaN, C: -9, CODE: 7 });
  // a: default 10 → 0; b: default -1; code 7 is no category; ratio needs A and B → default 1; late needs them too.
  assert.deepEqual([...r.vector], [0, -1, 0, 0, 0, 1, 0, Math.fround(-Math.log(10)), 0, 0.5]);
  assert.deepEqual(r.imputed, ["a", "b", "ratio", "late", "late_count"]);
});

test("an unknown entity imputes only the entity features", () => {
  const r = buildVector(spec, { A: 10, B: 0, C: 0, CODE: 1 }, undefined);
  assert.deepEqual(r.imputed, ["late_count"]);
  assert.equal(r.vector[5], 0, "a ratio over 0 is 0");
});

test("a batch is built into one row-major buffer", () => {
  const out = new Float32Array(20);
  buildVector(spec, { A: 12, B: 1, C: 1, CODE: 1 }, {}, out, 0);
  buildVector(spec, { A: 8, B: 2, C: 1, CODE: 2 }, {}, out, 10);
  assert.deepEqual([...out.subarray(0, 5)], [1, 1, 1, 0, 0]);
  assert.deepEqual([...out.subarray(10, 15)], [-1, 2, 0, 1, 0]);
});

test("scalar transforms", () => {
  assert.equal(applyTransform({ kind: "clip", min: -1, max: 1 }, 5), 1);
  assert.equal(applyTransform({ kind: "log" }, 0), 0);
  assert.equal(applyTransform({ kind: "log" }, -Math.E + 1), -1);
  assert.equal(applyTransform({ kind: "bucketize", edges: [0, 10] }, -1), 0);
  assert.equal(applyTransform({ kind: "bucketize", edges: [0, 10] }, 0), 1);
  assert.equal(applyTransform({ kind: "bucketize", edges: [0, 10] }, 10), 2);
});

test("checkSpec refuses sensitive inputs, unknown sources and misplaced one-hot", () => {
  checkSpec(spec);
  const bad = (f: FeatureSpec["features"][number]) => () => checkSpec({ ...spec, features: [f] });
  assert.throws(bad({ name: "x", source: { kind: "input", name: "AGE" }, transforms: [], default: 0 }), /sensitive/);
  assert.throws(
    bad({ name: "x", source: { kind: "input", name: "NOPE" }, transforms: [], default: 0 }),
    /unknown input NOPE/,
  );
  assert.throws(
    bad({ name: "x", source: { kind: "entity", name: "nope" }, transforms: [], default: 0 }),
    /unknown entity feature/,
  );
  assert.throws(
    bad({
      name: "x",
      source: { kind: "input", name: "A" },
      transforms: [{ kind: "one_hot", categories: [1] }, { kind: "log" }],
      default: 0,
    }),
    /one_hot must be last/,
  );
});

test("segments bucket values and label codes", () => {
  assert.deepEqual(segmentsOf(spec, { AGE: 24, SEX: 2 }), { age_band: "<25", sex: "female" });
  assert.deepEqual(segmentsOf(spec, { AGE: 25, SEX: 9 }), { age_band: "25-34", sex: "other" });
  assert.deepEqual(segmentsOf(spec, { AGE: 70 }), { age_band: "35+", sex: "unknown" });
});

test("the spec hash ignores key order and changes with any parameter", () => {
  const reordered = JSON.parse(canonicalJson(spec)) as FeatureSpec;
  assert.equal(specHash(reordered), specHash(spec));
  const changed = structuredClone(spec);
  changed.features[0]!.transforms = [{ kind: "standardize", mean: 10, std: 2.0001 }];
  assert.notEqual(specHash(changed), specHash(spec));
  assert.match(specHash(spec), /^sha256:[0-9a-f]{16}$/);
});
