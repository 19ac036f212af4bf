import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelRepository } from "../../../services/lib/model/index.js";
import { CardCache } from "../../../services/router/card-cache.js";
import { fallbackVersions } from "../../../services/router/fallback-versions.js";

const roots: string[] = [];
after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** A model repository in a temporary folder: model "m" with the given algorithm per version. */
function repoWith(algorithms: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), "fallback-versions-"));
  roots.push(root);
  mkdirSync(join(root, "m"));
  writeFileSync(join(root, "m", "spec.json"), "{}");
  const add = (version: string, algorithm: string) => {
    mkdirSync(join(root, "m", version));
    writeFileSync(join(root, "m", version, "card.json"), JSON.stringify({ model: "m", version, algorithm }));
    writeFileSync(join(root, "m", version, "model.onnx"), "");
  };
  for (const [v, a] of Object.entries(algorithms)) add(v, a);
  const repo = new ModelRepository(root);
  return { repo, cards: new CardCache(repo), add };
}

test("auto: the lowest-numbered logistic-regression version", () => {
  const { repo, cards } = repoWith({
    "2": "gradient_boosted_trees",
    "10": "logistic_regression",
    "3": "logistic_regression",
  });
  assert.equal(fallbackVersions("auto", repo, cards)("m"), "3");
  assert.equal(fallbackVersions("auto", repo, cards)("other"), undefined);
});

test("auto: chosen again only once the card cache has loaded new versions", () => {
  const { repo, cards, add } = repoWith({ "2": "gradient_boosted_trees" });
  const fallback = fallbackVersions("auto", repo, cards);
  assert.equal(fallback("m"), undefined);
  add("1", "logistic_regression");
  assert.equal(fallback("m"), undefined, "the choice is kept until the cards are loaded again");
  cards.load();
  assert.equal(fallback("m"), "1");
});

test("none, or the configured version per model", () => {
  const { repo, cards } = repoWith({ "1": "logistic_regression" });
  assert.equal(fallbackVersions("none", repo, cards)("m"), undefined);
  const configured = fallbackVersions(new Map([["m", "7"]]), repo, cards);
  assert.equal(configured("m"), "7");
  assert.equal(configured("other"), undefined);
});
