import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ModelInferRequest_InferInputTensorSchema } from "../../../gen/inference/grpc_predict_v2_pb.js";
import { readFloatMatrix } from "../../../services/model-worker/tensors.js";

const tensor = (datatype: string, shape: number[], contents?: Record<string, unknown>) =>
  create(ModelInferRequest_InferInputTensorSchema, { name: "features", datatype, shape: shape.map(BigInt), contents });

test("typed FP32, FP64 and INT64 contents", () => {
  assert.deepEqual(
    [...readFloatMatrix(tensor("FP32", [2, 2], { fp32Contents: [1, 2, 3, 4] }), undefined, 2).data],
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    [...readFloatMatrix(tensor("FP64", [1, 2], { fp64Contents: [0.5, -1] }), undefined, 2).data],
    [0.5, -1],
  );
  assert.deepEqual(
    [...readFloatMatrix(tensor("INT64", [1, 2], { int64Contents: [7n, -3n] }), undefined, 2).data],
    [7, -3],
  );
});

test("raw little-endian contents, aligned or not", () => {
  const floats = new Float32Array([1.5, -2, 3, 4]);
  const aligned = new Uint8Array(floats.buffer);
  assert.deepEqual([...readFloatMatrix(tensor("FP32", [2, 2]), aligned, 2).data], [1.5, -2, 3, 4]);
  const shifted = new Uint8Array(17);
  shifted.set(aligned, 1);
  const r = readFloatMatrix(tensor("FP32", [2, 2]), shifted.subarray(1), 2);
  assert.deepEqual([...r.data], [1.5, -2, 3, 4]);
  assert.equal(r.rows, 2);
  const f64 = new Uint8Array(new Float64Array([0.25, 8]).buffer);
  assert.deepEqual([...readFloatMatrix(tensor("FP64", [1, 2]), f64, 2).data], [0.25, 8]);
});

test("a wrong shape, size or datatype is INVALID_ARGUMENT naming the input", () => {
  const bad: [ReturnType<typeof tensor>, Uint8Array | undefined][] = [
    [tensor("FP32", [1, 3], { fp32Contents: [1, 2, 3] }), undefined],
    [tensor("FP32", [2, 2], { fp32Contents: [1, 2, 3] }), undefined],
    [tensor("FP32", [0, 2], { fp32Contents: [] }), undefined],
    [tensor("FP32", [1, 2]), new Uint8Array(7)],
    [tensor("BYTES", [1, 2]), undefined],
  ];
  for (const [t, raw] of bad) {
    assert.throws(
      () => readFloatMatrix(t, raw, 2),
      (e: unknown) =>
        e instanceof ConnectError && e.code === Code.InvalidArgument && /input features/.test(e.rawMessage),
    );
  }
});
