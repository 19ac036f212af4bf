import { fromBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, type AttributeProto } from "../../../gen/onnx/onnx_pb.js";
import type { Tree, TreeEnsemble } from "../../lib/model/index.js";

/**
 * Reads the tree ensemble back out of a model.onnx written by the training kit (one ai.onnx.ml
 * TreeEnsembleRegressor, BRANCH_LEQ splits, training covers in nodes_hitrates), so that explanations are
 * computed from the very trees that score. Throws when the file holds no such node.
 */
export function readTreeEnsemble(onnx: Uint8Array): TreeEnsemble {
  const model = fromBinary(ModelProtoSchema, onnx);
  const node = model.graph?.node.find((n) => n.opType === "TreeEnsembleRegressor" && n.domain === "ai.onnx.ml");
  if (!node) throw new Error("model.onnx has no ai.onnx.ml TreeEnsembleRegressor");
  const attr = new Map<string, AttributeProto>(node.attribute.map((a) => [a.name, a]));
  const ints = (name: string) => (attr.get(name)?.ints ?? []).map(Number);
  const floats = (name: string) => attr.get(name)?.floats ?? [];
  const text = (name: string) => new TextDecoder().decode(attr.get(name)?.s ?? new Uint8Array());
  if (text("aggregate_function") !== "SUM" || text("post_transform") !== "NONE") {
    throw new Error("TreeEnsembleRegressor must sum its trees with no post transform");
  }
  const treeIds = ints("nodes_treeids");
  const nodeIds = ints("nodes_nodeids");
  const featureIds = ints("nodes_featureids");
  const values = floats("nodes_values");
  const modes = (attr.get("nodes_modes")?.strings ?? []).map((s) => new TextDecoder().decode(s));
  const trueIds = ints("nodes_truenodeids");
  const falseIds = ints("nodes_falsenodeids");
  const hitrates = floats("nodes_hitrates");
  if (hitrates.length !== treeIds.length) throw new Error("TreeEnsembleRegressor lacks nodes_hitrates (node covers)");

  const trees: Tree[] = [];
  const treeOf = (t: number): Tree =>
    (trees[t] ??= { feature: [], threshold: [], left: [], right: [], value: [], cover: [] });
  for (let k = 0; k < treeIds.length; k++) {
    const tree = treeOf(treeIds[k]!);
    const id = nodeIds[k]!;
    const leaf = modes[k] === "LEAF";
    if (!leaf && modes[k] !== "BRANCH_LEQ") throw new Error(`node mode ${modes[k]} is not supported`);
    tree.feature[id] = leaf ? -1 : featureIds[k]!;
    tree.threshold[id] = leaf ? 0 : values[k]!;
    tree.left[id] = leaf ? -1 : trueIds[k]!;
    tree.right[id] = leaf ? -1 : falseIds[k]!;
    tree.value[id] = 0;
    tree.cover[id] = hitrates[k]!;
  }
  const targetTrees = ints("target_treeids");
  const targetNodes = ints("target_nodeids");
  const weights = floats("target_weights");
  for (let k = 0; k < targetTrees.length; k++) treeOf(targetTrees[k]!).value[targetNodes[k]!]! += weights[k]!;
  return { baseScore: floats("base_values")[0] ?? 0, trees };
}
