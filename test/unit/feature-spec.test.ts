import { test } from "node:test";
import assert from "node:assert/strict";
import { buildVector, canonicalJson, segmentsOf, specHash, type FeatureSpec } from "../../services/lib/feature-spec.js";

const spec: FeatureSpec = {
  model: "toy",
  description: "",
  inputs: [],
  features: [
    { name: "a", source: "A", transform: { kind: "standardize", mean: 10, std: 2 }, default: 10 },
    { name: "b", source: "B", transform: { kind: "identity" }, default: -1 },
  ],
  segments: [
    { name: "age_band", source: "AGE", edges: [25, 35] },
    { name: "sex", source: "SEX", labels: { "1": "male", "2": "female" } },
  ],
};

test("vectors follow the spec's order and transforms", () => {
  const r = buildVector(spec, { A: 14, B: 3 });
  assert.deepEqual([...r.vector], [2, 3]);
  assert.deepEqual(r.imputed, []);
});

test("missing or non-finite inputs take the spec's default and are flagged", () => {
  const r = buildVector(spec, { B: Number.NaN });
  assert.deepEqual([...r.vector], [0, -1]);
  assert.deepEqual(r.imputed, ["a", "b"]);
});

test("a batch is built into one row-major buffer", () => {
  const out = new Float32Array(4);
  buildVector(spec, { A: 12, B: 1 }, out, 0);
  buildVector(spec, { A: 8, B: 2 }, out, 2);
  assert.deepEqual([...out], [1, 1, -1, 2]);
});

test("segments bucket values and label codes", () => {
  assert.deepEqual(segmentsOf(spec, { AGE: 24, SEX: 2 }), { age_band: "<25", sex: "female" });
  assert.deepEqual(segmentsOf(spec, { AGE: 25, SEX: 9 }), { age_band: "25-34", sex: "other" });
  assert.deepEqual(segmentsOf(spec, { AGE: 70 }), { age_band: "35+", sex: "unknown" });
});

test("the spec hash ignores key order and changes with any parameter", () => {
  const reordered = JSON.parse(canonicalJson(spec)) as FeatureSpec;
  assert.equal(specHash(reordered), specHash(spec));
  const changed: FeatureSpec = { ...spec, features: [{ ...spec.features[0]!, transform: { kind: "standardize", mean: 10, std: 2.0001 } }, spec.features[1]!] };
  assert.notEqual(specHash(changed), specHash(spec));
  assert.match(specHash(spec), /^sha256:[0-9a-f]{16}$/);
});
