import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { ModelProtoSchema } from "../../../gen/onnx/onnx_pb.js";
import {
  parseSnapshot,
  featureColumns,
  specHash,
  decide,
  seedChampion,
  predictRaw,
  ModelRepository,
} from "../../../services/lib/model/index.js";
import { readTreeEnsemble } from "../../../services/router/explain/onnx-trees.js";
import { explainerFor } from "../../../services/router/explain/reasons.js";
import { FAMILIES } from "../../../tools/trainer/families.js";
import { defaultDataPath, type ModelFamily } from "../../../tools/trainer/model-family.js";
import { loadCsv } from "../../../tools/trainer/csv.js";
import { featureMatrix } from "../../../tools/trainer/feature-matrix.js";
import { sigmoid } from "../../../tools/trainer/logistic-regression.js";
import { scoreWithOnnx } from "../../../tools/trainer/onnx-scorer.js";
import { splitRows } from "../../../tools/trainer/split.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const modelsDir = join(root, "models");
const repository = new ModelRepository(modelsDir);

/** What each family's shipped models must reach on the holdout, and how many tree challengers it ships. */
const EXPECTED: Record<string, { minRocAuc: number; treeChallengers: number }> = {
  "credit-default": { minRocAuc: 0.77, treeChallengers: 2 }, // version 4, and 5 (the light → heavy cascade's light model)
  "late-payment": { minRocAuc: 0.9, treeChallengers: 0 },
};

for (const family of FAMILIES.values()) describeShippedFamily(family);

/** The checks every family's files in the repository must pass. */
function describeShippedFamily(family: ModelFamily): void {
  const model = family.model;
  const expected = EXPECTED[model];
  if (!expected) throw new Error(`add ${model}'s expected metrics to EXPECTED`);
  const table = loadCsv(defaultDataPath(modelsDir, family));
  const snapshot = family.entities ? shippedSnapshot(model) : undefined;
  /** Data row i's entity features, as the shipped snapshot holds them (what training joined). */
  const entityOf = (i: number) => (family.entities ? snapshot!.entities.get(family.entities.idOf(i)) : undefined);

  describe(`the ${model} models in the repository`, () => {
    const spec = repository.spec(model);
    const versions = repository.versions(model);

    it("holds every version of the family, trained on the spec beside them", () => {
      assert.deepEqual(
        versions,
        family.versions.map((v) => v.version),
      );
      for (const version of versions) {
        const card = repository.card(model, version);
        assert.equal(card.feature_spec_hash, specHash(spec));
        assert.deepEqual(card.features, featureColumns(spec));
        const sensitive = new Set(spec.inputs.filter((i) => i.sensitive).map((i) => i.name));
        for (const f of spec.features) {
          const refs = f.source.kind === "derived" ? f.source.of : f.source.kind === "input" ? [f.source.name] : [];
          assert.ok(
            refs.every((r) => !sensitive.has(r)),
            `${f.name} reads a sensitive input`,
          );
        }
      }
    });

    it(`makes a tree model with a held-out ROC AUC of at least ${expected.minRocAuc} the seeded champion`, () => {
      const cards = versions.map((v) => repository.card(model, v));
      const champion = cards.find((c) => c.version === seedChampion(cards))!;
      assert.equal(champion.algorithm, "gradient_boosted_trees");
      assert.ok(champion.metrics["roc_auc"]! >= expected.minRocAuc, `ROC AUC ${champion.metrics["roc_auc"]}`);
      const challengers = cards.filter((c) => c.algorithm === "gradient_boosted_trees" && c !== champion);
      assert.equal(challengers.length, expected.treeChallengers, "tree challengers");
      assert.ok(challengers.every((c) => c.metrics["roc_auc"]! >= expected.minRocAuc));
      assert.ok(
        cards.some((c) => c.algorithm === "logistic_regression"),
        "a light model for the cascade's fallback step",
      );
      for (const card of cards) {
        assert.ok(
          card.metrics["ks"]! > 0 && card.metrics["calibration_error"]! >= 0,
          `version ${card.version} metrics`,
        );
        assert.equal(
          card.calibration?.reduce((s, b) => s + b.rows, 0),
          card.metrics["holdout_rows"],
        );
        assert.deepEqual(
          Object.keys(card.profile!.inputs),
          spec.inputs.map((i) => i.name),
          "a profile of every input",
        );
        for (const h of [card.profile!.score, ...Object.values(card.profile!.inputs)]) {
          assert.equal(h.counts.length, h.edges.length + 1);
          assert.equal(
            h.counts.reduce((a, b) => a + b, 0),
            card.profile!.rows,
          );
        }
        assert.match(String(card.training["data_sha256"]), /^[0-9a-f]{64}$/);
      }
    });

    if (family.entities) {
      const recipe = family.entities;
      it("ships the entity snapshot the models were trained with: one entity per data row, every one the spec reads", () => {
        assert.equal(snapshot!.entities.size, table.rows.length);
        assert.equal(snapshot!.header.source?.sha256, repository.card(model, versions[0]!).training["data_sha256"]);
        const entityFeatures = spec.features.filter((f) => f.source.kind === "entity").map((f) => f.name);
        assert.ok(entityFeatures.length >= 3, `${entityFeatures.length} entity features`);
        assert.deepEqual(
          snapshot!.header.columns.map((c) => c.name),
          entityFeatures,
        );
        assert.equal(entityOf(0)?.["missed_payments_5m"], recipe.compute(table.rows[0]!)["missed_payments_5m"]);
        assert.equal(entityOf(table.rows.length), undefined);
      });
    }

    for (const version of versions) {
      it(`version ${version}: model.onnx scores 1,000 rows as its card's model computes, and reasons add up`, async () => {
        const card = repository.card(model, version);
        const onnx = readFileSync(repository.onnxPath(model, version));
        const x = featureMatrix(
          spec,
          table.rows.slice(0, 1_000),
          Array.from({ length: 1_000 }, (_, i) => entityOf(i)),
        );
        const scores = await scoreWithOnnx(onnx, x);
        assert.equal(scores.length, 1_000);
        const trees = card.algorithm === "gradient_boosted_trees" ? readTreeEnsemble(onnx) : undefined;
        const explainer = explainerFor(card, () => onnx)!;
        let worst = 0;
        let worstSum = 0;
        for (let i = 0; i < x.rows; i++) {
          const row = x.data.subarray(i * x.cols, (i + 1) * x.cols);
          let eta: number;
          if (trees) {
            eta = predictRaw(trees, row);
          } else {
            const { intercept, coefficients } = card.linear!;
            eta = intercept;
            for (let j = 0; j < x.cols; j++) eta += coefficients[j]! * row[j]!;
          }
          worst = Math.max(worst, Math.abs(scores[i]! - sigmoid(eta)));
          const { baseValue, contributions } = explainer.explain(row);
          worstSum = Math.max(worstSum, Math.abs(baseValue + contributions.reduce((a, b) => a + b, 0) - eta));
        }
        assert.ok(worst < 1e-5, `largest difference ${worst}`);
        assert.ok(worstSum < 1e-9, `reasons and base value miss the raw output by up to ${worstSum}`);
      });

      it(`version ${version}: model.onnx says what it is`, () => {
        const card = repository.card(model, version);
        const onnx = fromBinary(ModelProtoSchema, readFileSync(repository.onnxPath(model, version)));
        assert.equal(onnx.irVersion, 8n);
        assert.deepEqual(
          onnx.opsetImport.map((o) => [o.domain, o.version]),
          card.algorithm === "gradient_boosted_trees"
            ? [
                ["", 17n],
                ["ai.onnx.ml", 3n],
              ]
            : [["", 17n]],
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
        const { holdout } = splitRows(table.rows.length, family.split);
        const x = featureMatrix(
          spec,
          holdout.map((i) => table.rows[i]!),
          holdout.map(entityOf),
        );
        const scores = await scoreWithOnnx(readFileSync(repository.onnxPath(model, version)), x);
        const share = (d: Decision) => scores.filter((s) => decide(s, card.thresholds) === d).length / scores.length;
        assert.ok(Math.abs(share(Decision.APPROVE) - 0.75) < 0.005, `approve ${share(Decision.APPROVE)}`);
        assert.ok(Math.abs(share(Decision.REVIEW) - 0.15) < 0.005, `review ${share(Decision.REVIEW)}`);
        assert.ok(Math.abs(share(Decision.DECLINE) - 0.1) < 0.005, `decline ${share(Decision.DECLINE)}`);
      });
    }
  });
}

/** The newest entity snapshot a family ships. */
function shippedSnapshot(model: string) {
  const dir = join(modelsDir, model, "entities");
  const file = readdirSync(dir)
    .filter((f) => f.startsWith("snapshot-"))
    .sort()
    .pop()!;
  return parseSnapshot(readFileSync(join(dir, file), "utf8"), { source: file, model });
}

describe("the model repository", () => {
  it("holds exactly the families the training kit knows, so every model there can be retrained", () => {
    assert.deepEqual(repository.models(), [...FAMILIES.keys()].sort());
  });
});
