import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { cardText } from "../../../tools/meshctl/card.js";

test("card: a shipped card's provenance, held-out performance and thresholds; missing sections said so", () => {
  const card = JSON.parse(readFileSync("models/credit-default/3/card.json", "utf8")) as Record<string, unknown>;
  const text = cardText(card).join("\n");
  assert.match(text, /^Model card: credit-default version 3$/m);
  assert.match(text, /data file credit_default\.csv {2}sha256 8babe815/);
  assert.match(text, /Performance on the 5000 held-out rows\n {2}ROC AUC 0\.7881/);
  assert.match(text, /approve below 0\.2853, review from 0\.2853, decline from 0\.6006/);
  assert.match(text, /per segment \(AUC, approval rate, ratio of approval rates\): not recorded in this card/);
  assert.match(text, /Intended use\n {2}not recorded in this card/);
  const filled = cardText({ ...card, intended_use: "Consumer credit lines", limitations: "Taiwan, 2005" }).join("\n");
  assert.match(filled, /Intended use\n {2}Consumer credit lines/);
  assert.match(filled, /Limitations\n {2}Taiwan, 2005/);
});
