import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ModelRepository } from "../../../services/lib/model/index.js";
import { artifactFiles } from "../../../tools/trainer/artifacts.js";
import { FAMILIES } from "../../../tools/trainer/families.js";
import { prettyJson } from "../../../tools/trainer/json-file.js";
import { defaultDataPath, type ModelFamily } from "../../../tools/trainer/model-family.js";
import { trainFamily, type TrainedFamily } from "../../../tools/trainer/train.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const modelsDir = join(root, "models");

for (const family of FAMILIES.values()) describeTraining(family);

/** Trains a family twice from its default data file and compares both runs with each other and the repository. */
function describeTraining(family: ModelFamily): void {
  const dataPath = defaultDataPath(modelsDir, family);

  describe(`training ${family.model}`, () => {
    let first: TrainedFamily;
    let second: TrainedFamily;
    before(async () => {
      first = await trainFamily(family, dataPath);
      second = await trainFamily(family, dataPath);
    });

    it("gives the same cards and model files twice", () => {
      assert.equal(first.versions.length, family.versions.length);
      first.versions.forEach((v, k) => {
        const again = second.versions[k]!;
        assert.equal(prettyJson(again.card), prettyJson(v.card));
        assert.ok(Buffer.from(again.onnx).equals(Buffer.from(v.onnx)), `version ${v.card.version} model.onnx`);
      });
      assert.equal(prettyJson(second.spec), prettyJson(first.spec));
    });

    it("gives versions that differ from each other", () => {
      const [v1, v2] = first.versions;
      assert.notDeepEqual(v1!.card.linear ?? v1!.card.trees, v2!.card.linear ?? v2!.card.trees);
      assert.notDeepEqual(v1!.card.thresholds, v2!.card.thresholds);
    });

    it("reproduces the files the repository holds, byte for byte", () => {
      for (const { path, content } of artifactFiles(first)) {
        const held = readFileSync(join(modelsDir, path));
        const fresh = Buffer.from(content);
        assert.ok(held.equals(fresh), `models/${path} differs from a fresh training run: run npm run train`);
      }
      assert.deepEqual(
        new ModelRepository(modelsDir).versions(family.model),
        first.versions.map((v) => v.card.version),
      );
    });
  });
}
