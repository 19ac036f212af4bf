import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  decodeStatusDetails,
  encodeStatusDetails,
  fieldViolations,
  invalidArgument,
} from "../../../../services/lib/rpc/status-details.js";

test("a BadRequest survives the google.rpc.Status round trip a gRPC hop makes", () => {
  const err = invalidArgument([
    { field: "inputs.AGE", reason: "OUT_OF_RANGE", description: "must be in [18, 120], got 300" },
    { field: "inputs.X", reason: "UNKNOWN_FIELD", description: "is not an input" },
  ]);
  assert.equal(err.code, Code.InvalidArgument);
  assert.match(err.rawMessage, /2 invalid fields: inputs.AGE, inputs.X/);
  const bin = encodeStatusDetails(err)!;
  const received = new ConnectError(err.rawMessage, err.code);
  received.details = decodeStatusDetails(bin);
  assert.deepEqual(
    fieldViolations(received).map((v) => [v.field, v.reason, v.description]),
    [
      ["inputs.AGE", "OUT_OF_RANGE", "must be in [18, 120], got 300"],
      ["inputs.X", "UNKNOWN_FIELD", "is not an input"],
    ],
  );
});

test("errors without details encode nothing; garbage details decode to none", () => {
  assert.equal(encodeStatusDetails(new ConnectError("x", Code.Unavailable)), undefined);
  assert.deepEqual(decodeStatusDetails(new Uint8Array([0xff, 0xff, 0xff])), []);
  assert.deepEqual(fieldViolations(new Error("plain")), []);
});
