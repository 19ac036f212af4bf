import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { specHash, type FeatureSpec, ModelRepository } from "../../../services/lib/model/index.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const spec = new ModelRepository(join(root, "models")).spec("credit-default");

/** A deep copy with every object's keys in reverse order. */
function reverseKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reverseKeys) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    ) as T;
  }
  return value;
}

describe("specHash", () => {
  it("does not depend on key order", () => {
    const reordered = reverseKeys(spec);
    assert.notEqual(JSON.stringify(reordered), JSON.stringify(spec));
    assert.equal(specHash(reordered), specHash(spec));
    assert.match(specHash(spec), /^sha256:[0-9a-f]{16}$/);
  });

  it("changes when a fitted mean changes", () => {
    const changed = structuredClone<FeatureSpec>(spec);
    const transform = changed.features[0]!.transforms.at(-1)!;
    assert.equal(transform.kind, "standardize");
    if (transform.kind === "standardize") transform.mean = transform.mean * (1 + 1e-6);
    assert.notEqual(specHash(changed), specHash(spec));
  });

  it("changes when the feature order changes", () => {
    const changed = structuredClone<FeatureSpec>(spec);
    changed.features.reverse();
    assert.notEqual(specHash(changed), specHash(spec));
  });
});
