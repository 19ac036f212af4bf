import { Code, ConnectError } from "@connectrpc/connect";
import { copyFloats } from "../lib/model/index.js";
import type { ModelInferRequest_InferInputTensor } from "../../gen/inference/grpc_predict_v2_pb.js";

/** Bytes per element of the OIP v2 datatypes the worker accepts. */
const ELEMENT_BYTES: Record<string, number> = { FP32: 4, FP64: 8, INT64: 8, INT32: 4 };

function invalid(msg: string): ConnectError {
  return new ConnectError(msg, Code.InvalidArgument);
}

/**
 * Reads an OIP v2 input tensor (typed `contents` or its `raw_input_contents` entry, little-endian, row-major)
 * into a Float32Array of shape [rows, cols], checking its shape against the model's width.
 */
export function readFloatMatrix(
  tensor: ModelInferRequest_InferInputTensor,
  raw: Uint8Array | undefined,
  cols: number,
): { data: Float32Array; rows: number } {
  const shape = tensor.shape.map(Number);
  if (shape.length !== 2 || shape[1] !== cols || !(shape[0]! >= 1)) {
    throw invalid(`input ${tensor.name}: shape must be [N, ${cols}] with N >= 1, got [${shape.join(", ")}]`);
  }
  const rows = shape[0]!;
  const n = rows * cols;
  const bytes = ELEMENT_BYTES[tensor.datatype];
  if (bytes === undefined)
    throw invalid(
      `input ${tensor.name}: datatype ${tensor.datatype} is not supported (use FP32, FP64, INT32 or INT64)`,
    );
  if (raw !== undefined) {
    if (raw.byteLength !== n * bytes) {
      throw invalid(
        `input ${tensor.name}: raw content has ${raw.byteLength} bytes, shape and ${tensor.datatype} need ${n * bytes}`,
      );
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (tensor.datatype === "FP32") {
      // Aligned little-endian floats can be viewed without a copy; otherwise copy once.
      if (raw.byteOffset % 4 === 0) return { data: new Float32Array(raw.buffer, raw.byteOffset, n), rows };
      return { data: copyFloats(raw, n), rows };
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      out[i] =
        tensor.datatype === "FP64"
          ? view.getFloat64(i * 8, true)
          : tensor.datatype === "INT32"
            ? view.getInt32(i * 4, true)
            : Number(view.getBigInt64(i * 8, true));
    }
    return { data: out, rows };
  }
  const c = tensor.contents;
  const values: ArrayLike<number | bigint> | undefined =
    tensor.datatype === "FP32"
      ? c?.fp32Contents
      : tensor.datatype === "FP64"
        ? c?.fp64Contents
        : tensor.datatype === "INT32"
          ? c?.intContents
          : c?.int64Contents;
  if (!values || values.length !== n) {
    throw invalid(
      `input ${tensor.name}: contents hold ${values?.length ?? 0} ${tensor.datatype} values, shape needs ${n}`,
    );
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(values[i]);
  return { data: out, rows };
}
