import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ModelRepository } from "../../../services/lib/model/index.js";
import { TrainingDataError } from "../../../tools/trainer/errors.js";
import { isLatePayment, latePayment } from "../../../tools/trainer/late-payment.js";
import { trainFamily } from "../../../tools/trainer/train.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const SEPTEMBER = ["PAY_0", "PAY_AMT1", "BILL_AMT1"];

describe("the late-payment family", () => {
  it("labels a row late when September's repayment status is a delay of a month or more", () => {
    assert.deepEqual(
      [-2, -1, 0, 1, 2, 9].map((status) => isLatePayment({ PAY_0: status })),
      [0, 0, 0, 1, 1, 1],
    );
  });

  it("reads no September column, in its inputs or in any feature of the shipped spec (they would leak the label)", () => {
    const inputs = latePayment.inputs.map((i) => i.name);
    for (const column of SEPTEMBER) assert.ok(!inputs.includes(column), `${column} is an input`);
    const spec = new ModelRepository(join(root, "models")).spec(latePayment.model);
    assert.deepEqual(
      spec.inputs.map((i) => i.name),
      inputs,
    );
    for (const f of spec.features) {
      const refs = f.source.kind === "derived" ? f.source.of : [f.source.name];
      assert.ok(
        refs.every((r) => !SEPTEMBER.includes(r)),
        `${f.name} reads ${refs.join(", ")}`,
      );
    }
  });

  it("refuses a data file that already has a column named like the label it derives", async () => {
    const dir = mkdtempSync(join(tmpdir(), "late-payment-"));
    try {
      const csv = join(dir, "data.csv");
      writeFileSync(csv, `PAY_0,${latePayment.label}\n1,0\n`);
      await assert.rejects(
        trainFamily(latePayment, csv),
        (e: unknown) => e instanceof TrainingDataError && e.message.includes("already has"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
