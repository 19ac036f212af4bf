import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { validateId, validateInputs } from "../../../services/validator/validation.js";
import { ModelRepository } from "../../../services/lib/model/index.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { creditRows } from "../../support/credit-data.js";

const spec = new ModelRepository(join(PROJECT_ROOT, "models")).spec("credit-default");
const good = creditRows(1)[0]!;
const reasons = (inputs: Record<string, unknown>) =>
  Object.fromEntries(validateInputs(spec, inputs as never, "inputs").violations.map((v) => [v.field, v.reason]));

test("a real row of the credit data passes and keeps every value", () => {
  const r = validateInputs(spec, good, "inputs");
  assert.deepEqual(r.violations, []);
  assert.deepEqual(r.values, good);
});

test("every input of the spec is required", () => {
  for (const input of spec.inputs) {
    const { [input.name]: _gone, ...rest } = good;
    assert.deepEqual(reasons(rest), { [`inputs.${input.name}`]: "REQUIRED" });
    assert.deepEqual(reasons({ ...good, [input.name]: null }), { [`inputs.${input.name}`]: "REQUIRED" });
  }
});

test("types: strings, booleans, objects and lists are refused, not coerced", () => {
  assert.deepEqual(reasons({ ...good, AGE: "34", SEX: true, PAY_0: [0], LIMIT_BAL: { v: 1 } }), {
    "inputs.AGE": "WRONG_TYPE",
    "inputs.SEX": "WRONG_TYPE",
    "inputs.PAY_0": "WRONG_TYPE",
    "inputs.LIMIT_BAL": "WRONG_TYPE",
  });
});

test("integers, ranges (bounds inclusive), NaN and Infinity", () => {
  assert.deepEqual(reasons({ ...good, EDUCATION: 2.5 }), { "inputs.EDUCATION": "NOT_INTEGER" });
  assert.deepEqual(reasons({ ...good, BILL_AMT1: 2.5 }), {}, "amounts may have decimals");
  assert.deepEqual(reasons({ ...good, AGE: 17, PAY_0: 10, PAY_AMT1: -1 }), {
    "inputs.AGE": "OUT_OF_RANGE",
    "inputs.PAY_0": "OUT_OF_RANGE",
    "inputs.PAY_AMT1": "OUT_OF_RANGE",
  });
  assert.deepEqual(reasons({ ...good, AGE: 18, PAY_0: -2, PAY_2: 9 }), {});
  assert.deepEqual(reasons({ ...good, BILL_AMT2: Number.NaN, BILL_AMT3: Number.NEGATIVE_INFINITY }), {
    "inputs.BILL_AMT2": "NOT_FINITE",
    "inputs.BILL_AMT3": "NOT_FINITE",
  });
});

test("unknown fields are named; too many fields is one violation, not thousands", () => {
  assert.deepEqual(reasons({ ...good, income: 1 }), { "inputs.income": "UNKNOWN_FIELD" });
  const huge = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`x${i}`, i]));
  const v = validateInputs(spec, huge, "inputs").violations;
  assert.equal(v.length, 1);
  assert.equal(v[0]!.reason, "TOO_MANY_FIELDS");
  const longName = { ...good, ["k".repeat(500)]: 1 };
  const lv = validateInputs(spec, longName, "inputs").violations;
  assert.deepEqual(
    lv.map((x) => [x.field, x.reason]),
    [["inputs", "UNKNOWN_FIELD"]],
    "a 500-character name is not echoed as a path",
  );
});

test("the path prefix names the row of a batch", () => {
  const v = validateInputs(spec, { ...good, SEX: 3 }, "requests[7].inputs").violations;
  assert.deepEqual(
    v.map((x) => x.field),
    ["requests[7].inputs.SEX"],
  );
});

test("ids: optional, bounded, plain characters", () => {
  assert.equal(validateId("", "request_id"), undefined);
  assert.equal(validateId("req-1:a_b.c", "request_id"), undefined);
  assert.equal(validateId("x".repeat(129), "request_id")?.reason, "TOO_LONG");
  assert.equal(validateId("a b", "entity_id")?.reason, "BAD_FORMAT");
  assert.equal(validateId("a\nb", "entity_id")?.field, "entity_id");
});
