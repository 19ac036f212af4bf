import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { ModelProtoSchema } from "../../../gen/onnx/onnx_pb.js";
import { specHash } from "../../../services/lib/feature-spec.js";
import { decide } from "../../../services/lib/model-card.js";
import { ModelRepository } from "../../../services/lib/model-repository.js";
import { creditDefault } from "../../../services/trainer/credit-default.js";
import { loadCsv } from "../../../services/trainer/csv.js";
import { featureMatrix } from "../../../services/trainer/feature-matrix.js";
import { sigmoid } from "../../../services/trainer/logistic-regression.js";
import { scoreWithOnnx } from "../../../services/trainer/onnx-scorer.js";
import { splitRows } from "../../../services/trainer/split.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const repository = new ModelRepository(join(root, "models"));
const model = creditDefault.model;
const table = loadCsv(join(root, "models", model, "data", creditDefault.dataFile));

describe("the credit-default models in the repository", () => {
  const spec = repository.spec(model);
  const versions = repository.versions(model);

  it("holds versions 1 and 2, trained on the spec beside them", () => {
    assert.deepEqual(versions, creditDefault.versions.map((v) => v.version));
    for (const version of versions) {
      const card = repository.card(model, version);
      assert.equal(card.feature_spec_hash, specHash(spec));
      assert.deepEqual(card.features, spec.features.map((f) => f.name));
      assert.ok(spec.features.every((f) => !spec.inputs.find((i) => i.name === f.source)?.sensitive));
    }
  });

  for (const version of versions) {
    it(`version ${version}: model.onnx scores 1,000 rows as σ(intercept + coefficients·x) of its card`, async () => {
      const card = repository.card(model, version);
      const { intercept, coefficients } = card.linear!;
      const x = featureMatrix(spec, table.rows.slice(0, 1_000));
      const scores = await scoreWithOnnx(readFileSync(repository.onnxPath(model, version)), x);
      assert.equal(scores.length, 1_000);
      let worst = 0;
      for (let i = 0; i < x.rows; i++) {
        let eta = intercept;
        for (let j = 0; j < x.cols; j++) eta += coefficients[j]! * x.data[i * x.cols + j]!;
        worst = Math.max(worst, Math.abs(scores[i]! - sigmoid(eta)));
      }
      assert.ok(worst < 1e-5, `largest difference ${worst}`);
    });

    it(`version ${version}: model.onnx says what it is`, () => {
      const card = repository.card(model, version);
      const onnx = fromBinary(ModelProtoSchema, readFileSync(repository.onnxPath(model, version)));
      assert.equal(onnx.irVersion, 8n);
      assert.deepEqual(
        onnx.opsetImport.map((o) => [o.domain, o.version]),
        [["", 17n]],
      );
      assert.equal(onnx.producerName, "scoremesh-trainer");
      assert.deepEqual(Object.fromEntries(onnx.metadataProps.map((p) => [p.key, p.value])), {
        model,
        version,
        feature_spec_hash: card.feature_spec_hash,
      });
      assert.deepEqual(
        onnx.graph!.input.map((i) => i.name),
        card.onnx.inputs.map((i) => i.name),
      );
      assert.deepEqual(
        onnx.graph!.output.map((o) => o.name),
        [card.onnx.score_output],
      );
    });

    it(`version ${version}: thresholds send about 75/15/10% of the holdout to approve/review/decline`, async () => {
      const card = repository.card(model, version);
      const { holdout } = splitRows(table.rows.length, creditDefault.split);
      const x = featureMatrix(
        spec,
        holdout.map((i) => table.rows[i]!),
      );
      const scores = await scoreWithOnnx(readFileSync(repository.onnxPath(model, version)), x);
      const share = (d: Decision) => scores.filter((s) => decide(s, card.thresholds) === d).length / scores.length;
      assert.ok(Math.abs(share(Decision.APPROVE) - 0.75) < 0.005, `approve ${share(Decision.APPROVE)}`);
      assert.ok(Math.abs(share(Decision.REVIEW) - 0.15) < 0.005, `review ${share(Decision.REVIEW)}`);
      assert.ok(Math.abs(share(Decision.DECLINE) - 0.1) < 0.005, `decline ${share(Decision.DECLINE)}`);
    });
  }
});
