import { test } from "node:test";
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { specSkew, specSkewError } from "../../../../services/lib/model/skew-guard.js";

test("specSkew passes a version trained with the spec in use and names both hashes otherwise", () => {
  const card = { model: "m", version: "3", feature_spec_hash: "sha256:aaaaaaaaaaaaaaaa" };
  assert.equal(specSkew(card, "sha256:aaaaaaaaaaaaaaaa"), undefined);
  const problem = specSkew(card, "sha256:bbbbbbbbbbbbbbbb")!;
  assert.match(
    problem,
    /m version 3 was trained with feature spec sha256:aaaaaaaaaaaaaaaa, but the spec in use is sha256:bbbbbbbbbbbbbbbb/,
  );
  assert.equal(specSkewError(problem).code, Code.FailedPrecondition);
});
