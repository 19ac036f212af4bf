import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { InputSpec } from "../../../services/lib/model/index.js";
import { checkRows } from "../../../tools/trainer/check-rows.js";
import { parseCsv } from "../../../tools/trainer/csv.js";
import { TrainingDataError } from "../../../tools/trainer/errors.js";
import { splitRows } from "../../../tools/trainer/split.js";

describe("splitRows", () => {
  it("splits into disjoint parts of the asked sizes, the same way for the same seed", () => {
    const options = { trainRows: 800, holdoutRows: 200, seed: 42 };
    const a = splitRows(1_000, options);
    assert.equal(a.train.length, 800);
    assert.equal(a.holdout.length, 200);
    assert.equal(new Set([...a.train, ...a.holdout]).size, 1_000);
    assert.deepEqual(splitRows(1_000, options), a);
    assert.notDeepEqual(splitRows(1_000, { ...options, seed: 43 }), a);
    // A shuffle, not a cut: the holdout is spread over the rows.
    assert.ok(a.holdout[0]! < 100 && a.holdout[a.holdout.length - 1]! > 900);
  });

  it("refuses more rows than there are", () => {
    assert.throws(() => splitRows(10, { trainRows: 8, holdoutRows: 3, seed: 1 }), RangeError);
  });
});

describe("parseCsv", () => {
  it("reads a numeric table", () => {
    assert.deepEqual(parseCsv("a,b\r\n1,2.5\r\n-3,4e3\r\n", "t.csv"), {
      columns: ["a", "b"],
      rows: [
        { a: 1, b: 2.5 },
        { a: -3, b: 4000 },
      ],
    });
  });

  it("names the line of a bad row", () => {
    assert.throws(
      () => parseCsv("a,b\n1,2\n3\n", "t.csv"),
      (e: unknown) => {
        return e instanceof TrainingDataError && e.message.startsWith("t.csv:3:");
      },
    );
    assert.throws(() => parseCsv("a,b\n1,x\n", "t.csv"), /t\.csv:2: b is "x"/);
    assert.throws(() => parseCsv("a,b\n1,\n", "t.csv"), TrainingDataError);
    assert.throws(() => parseCsv("a,a\n1,2\n", "t.csv"), /duplicate column a/);
  });
});

describe("checkRows", () => {
  const inputs: InputSpec[] = [
    { name: "AGE", type: "integer", min: 18, max: 120, required: true, description: "age" },
    { name: "INCOME", type: "number", min: 0, max: 1e6, required: false, description: "income" },
  ];

  it("accepts rows that the spec's inputs allow", () => {
    checkRows(
      inputs,
      [
        { AGE: 30, INCOME: 1.5, y: 0 },
        { AGE: 18, y: 1 },
      ],
      "y",
      "t.csv",
    );
  });

  it("refuses a value out of range, a fraction for an integer, a missing required input, a bad label", () => {
    assert.throws(
      () =>
        checkRows(
          inputs,
          [
            { AGE: 30, y: 0 },
            { AGE: 17, y: 0 },
          ],
          "y",
          "t.csv",
        ),
      /t\.csv:3: AGE = 17/,
    );
    assert.throws(() => checkRows(inputs, [{ AGE: 30.5, y: 0 }], "y", "t.csv"), /not an integer/);
    assert.throws(() => checkRows(inputs, [{ INCOME: 3, y: 0 }], "y", "t.csv"), /AGE is missing/);
    assert.throws(() => checkRows(inputs, [{ AGE: 30, y: 2 }], "y", "t.csv"), /label y = 2/);
  });
});
