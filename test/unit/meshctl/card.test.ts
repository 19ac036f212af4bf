import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { CardPerformance } from "../../../services/lib/model/index.js";
import { cardText, perSegment } from "../../../tools/meshctl/card.js";

const shipped = (version: string) =>
  JSON.parse(readFileSync(`models/credit-default/${version}/card.json`, "utf8")) as Record<string, unknown>;

test("card: a shipped card's use, limitations, provenance, held-out performance per segment and thresholds", () => {
  const text = cardText(shipped("3")).join("\n");
  assert.match(text, /^Model card: credit-default version 3$/m);
  assert.match(text, /Intended use\n {2}Estimates the probability that a credit card holder defaults/);
  assert.match(text, /Version 3 is the heavy model and the champion/);
  assert.match(
    text,
    /Limitations\n {2}- Trained and evaluated on one public data set: credit card holders of one Taiwanese/,
  );
  assert.match(text, /protected attributes SEX, MARRIAGE, AGE are not model inputs/);
  assert.match(text, /data file credit_default\.csv {2}sha256 8babe815/);
  assert.match(text, /licence CC BY 4\.0/);
  assert.match(text, /held-out rows: a seeded random split of the rows \(seed 42\)/);
  assert.match(text, /Performance on the 5000 held-out rows\n {2}ROC AUC 0\.7881/);
  assert.match(text, /at the thresholds: approve 75\.0 %, review 15\.0 %, decline 10\.0 %/);
  // The per-segment table: a row per group, right-aligned numbers, the too-small groups marked.
  assert.match(text, /^ {2}attribute +group +rows +default rate +AUC +approve +review +decline +ratio$/m);
  assert.match(text, /^ {2}sex +male +1963 +26\.5 % +0\.\d{4} +\d+\.\d % +\d+\.\d % +\d+\.\d % +0\.\d{3}$/m);
  assert.match(text, /^ {2}age_band +65\+ +26 .* - +\(too few rows\)$/m);
  assert.match(text, /^ {2}sex: lowest ÷ highest approval rate 0\.\d{3} \(male ÷ female\), not below 0\.8$/m);
  assert.match(text, /education: .*\(a model input, not a protected attribute\)$/m);
  assert.match(text, /approve below 0\.2853, review from 0\.2853, decline from 0\.6006/);
});

test("card: sections a card lacks are said to be missing", () => {
  const { intended_use: _u, limitations: _l, performance: _p, data: _d, ...older } = shipped("3");
  const text = cardText(older).join("\n");
  assert.match(text, /Intended use\n {2}not recorded in this card/);
  assert.match(text, /Limitations\n {2}not recorded in this card/);
  assert.match(text, /Performance per segment\n {2}not recorded in this card/);
  assert.match(text, /decision rates: not recorded in this card/);
});

test("card: a ratio below the floor is flagged on its group and its attribute", () => {
  const group = (name: string, rows: number, approval: number, ratio: number | null) => ({
    group: name,
    rows,
    defaults: 1,
    default_rate: 0.1,
    roc_auc: null,
    approval_rate: approval,
    review_rate: 0,
    decline_rate: 1 - approval,
    approval_ratio: ratio,
  });
  const p: CardPerformance = {
    rows: 300,
    thresholds: { review: 0.5, decline: 0.8 },
    min_rows: 100,
    ratio_floor: 0.8,
    overall: { ...group("all", 300, 0.6, null), roc_auc: 0.7 },
    segments: [
      {
        attribute: "sex",
        source: "SEX",
        protected: true,
        groups: [group("male", 150, 0.45, 0.6), group("female", 150, 0.75, 1)],
        approval_ratio: 0.6,
        lowest: "male",
        highest: "female",
        flagged: true,
      },
    ],
  };
  const text = perSegment(p).join("\n");
  assert.match(text, /^ {2}sex +male +150 +10\.0 % +- +45\.0 % +0\.0 % +55\.0 % +0\.600 +BELOW 0\.8$/m);
  assert.match(text, /^ {2}sex +female +150 .* 1\.000$/m);
  assert.match(text, /sex: lowest ÷ highest approval rate 0\.600 \(male ÷ female\), FLAGGED: below 0\.8$/m);
});
