import { create, toBinary } from "@bufbuild/protobuf";
import {
  ModelProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  ValueInfoProtoSchema,
  type TensorProto,
  type ValueInfoProto,
} from "../../gen/onnx/onnx_pb.js";

export interface LogisticRegressionOnnxOptions {
  /** The graph's name, e.g. the model family. */
  graphName: string;
  /** ModelProto.model_version. */
  modelVersion: bigint;
  /** Coefficients, one per feature; stored as float32. */
  weights: ArrayLike<number>;
  /** Intercept; stored as float32. */
  bias: number;
  /** Input tensor name; default "features". */
  inputName?: string;
  /** Output tensor name; default "probability". */
  outputName?: string;
  /** Doc string of the input tensor, e.g. the feature names in order. */
  inputDoc?: string;
  /** Doc string of the model. */
  docString?: string;
  /** metadata_props, written in the given order. */
  metadata?: Record<string, string>;
}

/** Version of the ONNX file format written (IR 8) and of the default operator set imported (opset 17). */
export const ONNX_IR_VERSION = 8n;
export const ONNX_OPSET = 17n;
export const ONNX_PRODUCER = "scoremesh-trainer";

/**
 * Serializes a logistic regression as an ONNX model:
 *
 *   features FLOAT [N, d] ─ MatMul(W [d, 1]) ─ Add(B [1]) ─ Sigmoid ─ probability FLOAT [N, 1]
 *
 * Deterministic: the same options give the same bytes.
 *
 * @example
 * const bytes = logisticRegressionOnnx({ graphName: "credit-default", modelVersion: 1n, weights, bias });
 */
export function logisticRegressionOnnx(options: LogisticRegressionOnnxOptions): Uint8Array {
  const { graphName, modelVersion, weights, bias, inputDoc = "", docString = "", metadata = {} } = options;
  const inputName = options.inputName ?? "features";
  const outputName = options.outputName ?? "probability";
  const d = weights.length;

  const model = create(ModelProtoSchema, {
    irVersion: ONNX_IR_VERSION,
    producerName: ONNX_PRODUCER,
    modelVersion,
    docString,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: graphName,
      node: [
        { name: "matmul", opType: "MatMul", input: [inputName, "W"], output: ["logit_wx"] },
        { name: "add", opType: "Add", input: ["logit_wx", "B"], output: ["logit"] },
        { name: "sigmoid", opType: "Sigmoid", input: ["logit"], output: [outputName] },
      ],
      initializer: [floatTensor("W", [d, 1], weights), floatTensor("B", [1], [bias])],
      input: [floatValue(inputName, ["N", d], inputDoc)],
      output: [floatValue(outputName, ["N", 1], "probability of the positive class")],
    },
  });
  return toBinary(ModelProtoSchema, model);
}

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dims: dims.map(BigInt),
    dataType: TensorProto_DataType.FLOAT,
    floatData: Array.from(values, Math.fround),
  });
}

/** A float tensor's ValueInfo; a string dimension is symbolic (dim_param), a number fixed (dim_value). */
function floatValue(name: string, shape: (string | number)[], docString: string): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    docString,
    type: {
      value: {
        case: "tensorType",
        value: {
          elemType: TensorProto_DataType.FLOAT,
          shape: {
            dim: shape.map((dim) => ({
              value:
                typeof dim === "string"
                  ? { case: "dimParam" as const, value: dim }
                  : { case: "dimValue" as const, value: BigInt(dim) },
            })),
          },
        },
      },
    },
  });
}
