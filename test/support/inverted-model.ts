import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ModelProtoSchema, NodeProtoSchema, TensorProtoSchema, TensorProto_DataType } from "../../gen/onnx/onnx_pb.js";

/**
 * Writes `<repo>/<model>/<to>`: a copy of version `from` whose ONNX graph answers 1 − p instead of p (a final
 * Sub node from a constant 1), so it ranks applicants backwards: the "inverted challenger" of the rollout tests.
 * Same feature spec, same card but for its version and description.
 */
export function writeInvertedVersion(repo: string, model: string, from: string, to: string): void {
  const dir = join(repo, model, to);
  cpSync(join(repo, model, from), dir, { recursive: true });
  const card = JSON.parse(readFileSync(join(dir, "card.json"), "utf8")) as Record<string, unknown> & {
    onnx: { file: string; score_output: string };
  };
  const file = join(dir, card.onnx.file);
  const onnx = fromBinary(ModelProtoSchema, readFileSync(file));
  const graph = onnx.graph!;
  const out = card.onnx.score_output;
  for (const node of graph.node) node.output = node.output.map((o) => (o === out ? `${out}_before_inversion` : o));
  graph.initializer.push(
    create(TensorProtoSchema, {
      name: "inversion_one",
      dims: [1n],
      dataType: TensorProto_DataType.FLOAT,
      floatData: [1],
    }),
  );
  graph.node.push(
    create(NodeProtoSchema, {
      name: "inversion",
      opType: "Sub",
      input: ["inversion_one", `${out}_before_inversion`],
      output: [out],
    }),
  );
  writeFileSync(file, toBinary(ModelProtoSchema, onnx));
  card["version"] = to;
  card["description"] = `Version ${from} inverted (1 - p): ranks applicants backwards (a test fixture)`;
  card["seed_champion"] = false;
  writeFileSync(join(dir, "card.json"), JSON.stringify(card, null, 2) + "\n");
}
