import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ModelRepository } from "../../../services/lib/model/index.js";
import { artifactFiles } from "../../../tools/trainer/artifacts.js";
import { creditDefault } from "../../../tools/trainer/credit-default.js";
import { prettyJson } from "../../../tools/trainer/json-file.js";
import { trainFamily, type TrainedFamily } from "../../../tools/trainer/train.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const modelsDir = join(root, "models");
const dataPath = join(modelsDir, creditDefault.model, "data", creditDefault.dataFile);

describe("training credit-default", () => {
  let first: TrainedFamily;
  let second: TrainedFamily;
  before(async () => {
    first = await trainFamily(creditDefault, dataPath);
    second = await trainFamily(creditDefault, dataPath);
  });

  it("gives the same cards and model files twice", () => {
    assert.equal(first.versions.length, creditDefault.versions.length);
    first.versions.forEach((v, k) => {
      const again = second.versions[k]!;
      assert.equal(prettyJson(again.card), prettyJson(v.card));
      assert.ok(Buffer.from(again.onnx).equals(Buffer.from(v.onnx)), `version ${v.card.version} model.onnx`);
    });
    assert.equal(prettyJson(second.spec), prettyJson(first.spec));
  });

  it("gives versions that differ from each other", () => {
    const [v1, v2] = first.versions;
    assert.notDeepEqual(v1!.card.linear, v2!.card.linear);
    assert.notDeepEqual(v1!.card.thresholds, v2!.card.thresholds);
  });

  it("reproduces the files the repository holds, byte for byte", () => {
    for (const { path, content } of artifactFiles(first)) {
      const held = readFileSync(join(modelsDir, path));
      const fresh = Buffer.from(content);
      assert.ok(held.equals(fresh), `models/${path} differs from a fresh training run: run npm run train`);
    }
    assert.deepEqual(
      new ModelRepository(modelsDir).versions(creditDefault.model),
      first.versions.map((v) => v.card.version),
    );
  });
});
