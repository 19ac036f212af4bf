import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { refreshCards } from "../../../tools/trainer/card-refresh.js";
import { creditDefault } from "../../../tools/trainer/credit-default.js";
import { defaultDataPath } from "../../../tools/trainer/model-family.js";

const models = fileURLToPath(new URL("../../../../models", import.meta.url));
const MODEL = creditDefault.model;
const data = defaultDataPath(models, creditDefault);

describe("npm run train -- card (refreshCards)", () => {
  const root = mkdtempSync(join(tmpdir(), "scoremesh-cards-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const shipped = (v: string) => readFileSync(join(models, MODEL, v, "card.json"), "utf8");
  const copy = (v: string, edit: (card: Record<string, unknown>) => void) => {
    mkdirSync(join(root, MODEL, v), { recursive: true });
    cpSync(join(models, MODEL, v, "model.onnx"), join(root, MODEL, v, "model.onnx"));
    const card = JSON.parse(shipped(v)) as Record<string, unknown>;
    edit(card);
    writeFileSync(join(root, MODEL, v, "card.json"), JSON.stringify(card, null, 2) + "\n");
  };

  it("writes the shipped sections into a card without them, from its model.onnx on the held-out rows; refuses a card the rows do not reproduce", async () => {
    // Version 4 as it was before cards had these sections; version 5 with a ROC AUC its rows do not give.
    copy("4", (c) => ["intended_use", "limitations", "data", "performance"].forEach((k) => delete c[k]));
    copy("5", (c) => ((c["metrics"] as Record<string, number>)["roc_auc"] = 0.9));
    const done = await refreshCards(creditDefault, root, data, ["4"]);
    assert.deepEqual(
      done.map((d) => [d.version, d.changed]),
      [["4", true]],
    );
    assert.equal(
      readFileSync(join(root, MODEL, "4", "card.json"), "utf8"),
      shipped("4"),
      "the shipped card, byte for byte",
    );
    assert.ok(
      readFileSync(join(root, MODEL, "4", "model.onnx")).equals(readFileSync(join(models, MODEL, "4", "model.onnx"))),
    );
    await assert.rejects(
      refreshCards(creditDefault, root, data, ["5"]),
      /the rebuilt held-out rows give ROC AUC 0\.7904, the card says 0\.9/,
    );
    await assert.rejects(refreshCards(creditDefault, root, data, ["9"]), /no version 9 of credit-default/);
  });
});
