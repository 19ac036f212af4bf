import { create, toBinary } from "@bufbuild/protobuf";
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  ModelProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  ValueInfoProtoSchema,
  type TensorProto,
  type ValueInfoProto,
} from "../../gen/onnx/onnx_pb.js";
import type { TreeEnsemble } from "../../services/lib/model/index.js";

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

/** Version of the ai.onnx.ml operator set imported by tree models (TreeEnsembleRegressor). */
export const ONNX_ML_OPSET = 3n;

export interface TreeEnsembleOnnxOptions {
  graphName: string;
  modelVersion: bigint;
  ensemble: TreeEnsemble;
  /** Width of the feature vector. */
  features: number;
  inputName?: string;
  outputName?: string;
  inputDoc?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/**
 * Serializes a tree ensemble (see services/lib/model/tree-ensemble.ts) as an ONNX model:
 *
 *   features FLOAT [N, d] ─ ai.onnx.ml TreeEnsembleRegressor (SUM, base_values) ─ logit [N, 1] ─ Sigmoid ─ probability [N, 1]
 *
 * Splits are BRANCH_LEQ (x <= threshold goes to the true branch, the left child); `nodes_hitrates` holds each
 * node's training cover, which ONNX Runtime ignores and TreeSHAP reads back (readTreeEnsemble). Deterministic.
 */
export function treeEnsembleOnnx(options: TreeEnsembleOnnxOptions): Uint8Array {
  const { graphName, modelVersion, ensemble, features: d, inputDoc = "", docString = "", metadata = {} } = options;
  const inputName = options.inputName ?? "features";
  const outputName = options.outputName ?? "probability";
  const n = { treeIds: [] as bigint[], nodeIds: [] as bigint[], featureIds: [] as bigint[], values: [] as number[] };
  const modes: string[] = [];
  const trueIds: bigint[] = [];
  const falseIds: bigint[] = [];
  const hitrates: number[] = [];
  const target = { treeIds: [] as bigint[], nodeIds: [] as bigint[], ids: [] as bigint[], weights: [] as number[] };
  ensemble.trees.forEach((tree, t) => {
    for (let k = 0; k < tree.feature.length; k++) {
      const leaf = tree.left[k]! < 0;
      n.treeIds.push(BigInt(t));
      n.nodeIds.push(BigInt(k));
      n.featureIds.push(BigInt(leaf ? 0 : tree.feature[k]!));
      n.values.push(leaf ? 0 : Math.fround(tree.threshold[k]!));
      modes.push(leaf ? "LEAF" : "BRANCH_LEQ");
      trueIds.push(BigInt(leaf ? 0 : tree.left[k]!));
      falseIds.push(BigInt(leaf ? 0 : tree.right[k]!));
      hitrates.push(tree.cover[k]!);
      if (leaf) {
        target.treeIds.push(BigInt(t));
        target.nodeIds.push(BigInt(k));
        target.ids.push(0n);
        target.weights.push(Math.fround(tree.value[k]!));
      }
    }
  });
  const ints = (name: string, v: bigint[]) =>
    create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: v });
  const floats = (name: string, v: number[]) =>
    create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats: v.map(Math.fround) });
  const strings = (name: string, v: string[]) =>
    create(AttributeProtoSchema, {
      name,
      type: AttributeProto_AttributeType.STRINGS,
      strings: v.map((s) => new TextEncoder().encode(s)),
    });
  const string = (name: string, v: string) =>
    create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(v) });
  const int = (name: string, v: bigint) =>
    create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: v });

  const model = create(ModelProtoSchema, {
    irVersion: ONNX_IR_VERSION,
    producerName: ONNX_PRODUCER,
    modelVersion,
    docString,
    opsetImport: [
      { domain: "", version: ONNX_OPSET },
      { domain: "ai.onnx.ml", version: ONNX_ML_OPSET },
    ],
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: graphName,
      node: [
        {
          name: "trees",
          opType: "TreeEnsembleRegressor",
          domain: "ai.onnx.ml",
          input: [inputName],
          output: ["logit"],
          attribute: [
            string("aggregate_function", "SUM"),
            floats("base_values", [ensemble.baseScore]),
            int("n_targets", 1n),
            ints("nodes_falsenodeids", falseIds),
            ints("nodes_featureids", n.featureIds),
            floats("nodes_hitrates", hitrates),
            strings("nodes_modes", modes),
            ints("nodes_nodeids", n.nodeIds),
            ints("nodes_treeids", n.treeIds),
            ints("nodes_truenodeids", trueIds),
            floats("nodes_values", n.values),
            string("post_transform", "NONE"),
            ints("target_ids", target.ids),
            ints("target_nodeids", target.nodeIds),
            ints("target_treeids", target.treeIds),
            floats("target_weights", target.weights),
          ],
        },
        { name: "sigmoid", opType: "Sigmoid", input: ["logit"], output: [outputName] },
      ],
      input: [floatValue(inputName, ["N", d], inputDoc)],
      output: [floatValue(outputName, ["N", 1], "probability of the positive class")],
    },
  });
  return toBinary(ModelProtoSchema, model);
}
