import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { ModelRepository } from "../../../services/lib/model/index.js";
import { routingInputs } from "../../../services/feature/routes.js";
import { CREDIT_INPUTS } from "../../support/credit-data.js";

test("routing inputs: the raw non-sensitive inputs, never SEX, AGE or MARRIAGE", () => {
  const spec = new ModelRepository(join(PROJECT_ROOT, "models")).spec("credit-default");
  const out = routingInputs(spec, CREDIT_INPUTS);
  assert.equal(out["LIMIT_BAL"], 20000, "the raw value, not the transformed feature");
  for (const name of ["SEX", "AGE", "MARRIAGE"]) assert.ok(!(name in out), `${name} is not passed`);
  const sensitive = spec.inputs.filter((i) => i.sensitive).map((i) => i.name);
  assert.deepEqual(
    Object.keys(out).sort(),
    spec.inputs
      .map((i) => i.name)
      .filter((n) => !sensitive.includes(n))
      .sort(),
  );
});
