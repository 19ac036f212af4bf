import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import { AuditRecordSchema } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { replayInputs as encoded } from "../../../services/feature/replay-inputs.js";
import { buildVector, type FeatureSpec } from "../../../services/lib/model/index.js";

/** The replay inputs as the audit record will hold them (the encoded entries of its fields 12 and 25). */
function replayInputs(...args: Parameters<typeof encoded>) {
  const r = encoded(...args);
  const record = (b: Uint8Array | undefined) => fromBinary(AuditRecordSchema, b ?? new Uint8Array(0));
  return { inputs: record(r.inputs).inputs, entity: record(r.entity).entityFeatures };
}

const spec = JSON.parse(readFileSync("models/credit-default/spec.json", "utf8")) as FeatureSpec;

test("replay inputs: the validated inputs without SEX, AGE, MARRIAGE; entity values without the unknown ones", () => {
  const inputs = { LIMIT_BAL: 50000, SEX: 2, AGE: 31, MARRIAGE: 1, PAY_0: 2, BILL_AMT1: 0 };
  const entity = { avg_utilization_6m: 0.5, missed_payments_5m: undefined };
  const r = replayInputs(spec, inputs, entity);
  assert.deepEqual(r.inputs, { LIMIT_BAL: 50000, PAY_0: 2, BILL_AMT1: 0 });
  assert.deepEqual(r.entity, { avg_utilization_6m: 0.5 });
  assert.deepEqual(replayInputs(spec, inputs, undefined).entity, {});
});

test("replay inputs rebuild the very vector: the protected attributes feed no feature", () => {
  const inputs = { LIMIT_BAL: 20000, SEX: 1, AGE: 62, MARRIAGE: 2, PAY_0: 1, PAY_2: -1, BILL_AMT1: 3913, PAY_AMT1: 0 };
  const entity = {
    avg_utilization_6m: 0.1,
    utilization_change_6m: -0.02,
    avg_payment_ratio_5m: 1,
    missed_payments_5m: 0,
  };
  const r = replayInputs(spec, inputs, entity);
  const original = buildVector(spec, inputs, entity);
  const rebuilt = buildVector(spec, r.inputs, r.entity);
  assert.deepEqual(rebuilt, original);
});
