import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "../../../gen/onnx/onnx_pb.js";
import { sigmoid } from "../../../tools/trainer/logistic-regression.js";
import { logisticRegressionOnnx } from "../../../tools/trainer/onnx-export.js";
import { scoreWithOnnx } from "../../../tools/trainer/onnx-scorer.js";
import { createRng } from "../../../tools/trainer/rng.js";

describe("logisticRegressionOnnx", () => {
  const rng = createRng(9);
  const d = 7;
  const weights = Array.from({ length: d }, () => rng.normal());
  const bias = rng.normal();
  const bytes = logisticRegressionOnnx({
    graphName: "synthetic",
    modelVersion: 3n,
    weights,
    bias,
    metadata: { model: "synthetic", version: "3" },
  });

  it("writes the graph the card describes", () => {
    const model = fromBinary(ModelProtoSchema, bytes);
    assert.equal(model.irVersion, 8n);
    assert.deepEqual(
      model.opsetImport.map((o) => [o.domain, o.version]),
      [["", 17n]],
    );
    assert.equal(model.producerName, "scoremesh-trainer");
    assert.equal(model.modelVersion, 3n);
    assert.deepEqual(
      model.metadataProps.map((p) => [p.key, p.value]),
      [
        ["model", "synthetic"],
        ["version", "3"],
      ],
    );
    const graph = model.graph!;
    assert.deepEqual(
      graph.node.map((n) => n.opType),
      ["MatMul", "Add", "Sigmoid"],
    );
    const input = graph.input[0]!.type!.value;
    assert.equal(input.case, "tensorType");
    assert.deepEqual(
      input.value.shape!.dim.map((x) => x.value),
      [
        { case: "dimParam", value: "N" },
        { case: "dimValue", value: BigInt(d) },
      ],
    );
    assert.equal(graph.output[0]!.name, "probability");
    const w = graph.initializer.find((t) => t.name === "W")!;
    assert.deepEqual(w.dims, [BigInt(d), 1n]);
    assert.deepEqual(w.floatData, weights.map(Math.fround));
  });

  it("computes σ(b + w·x) in onnxruntime", async () => {
    const n = 257;
    const data = Float32Array.from({ length: n * d }, () => 3 * rng.normal());
    const scores = await scoreWithOnnx(bytes, { rows: n, cols: d, data });
    assert.equal(scores.length, n);
    for (let i = 0; i < n; i++) {
      let eta = Math.fround(bias);
      for (let j = 0; j < d; j++) eta += Math.fround(weights[j]!) * data[i * d + j]!;
      assert.ok(Math.abs(scores[i]! - sigmoid(eta)) < 1e-5, `row ${i}: ${scores[i]} vs ${sigmoid(eta)}`);
    }
  });
});
