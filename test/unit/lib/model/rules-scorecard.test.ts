import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import {
  buildVector,
  RulesScorecard,
  rulesBaselineFor,
  type FeatureSpec,
} from "../../../../services/lib/model/index.js";
import { creditRows } from "../../../support/credit-data.js";

const spec = JSON.parse(readFileSync("models/credit-default/spec.json", "utf8")) as FeatureSpec;

test("the scorecard reads raw values back from the vector: a clean payer approves, a late one is declined", () => {
  const card = new RulesScorecard(spec);
  const row = {
    ...creditRows(1)[0]!,
    PAY_0: -1,
    PAY_2: -1,
    PAY_3: -1,
    PAY_4: -1,
    PAY_5: -1,
    PAY_6: -1,
    BILL_AMT1: 1000,
    LIMIT_BAL: 100_000,
    PAY_AMT1: 1000,
    BILL_AMT2: 1000,
  };
  const clean = buildVector(spec, row).vector;
  assert.equal(card.points(clean), 0);
  assert.equal(card.score(clean).decision, Decision.APPROVE);
  const late = buildVector(spec, { ...row, PAY_0: 2, PAY_2: 2, PAY_3: 2, BILL_AMT1: 95_000, PAY_AMT1: 0 }).vector;
  assert.equal(card.points(late), 3 + 1.5 + 1 + 0.5);
  assert.equal(card.score(late).decision, Decision.DECLINE);
});

test("only credit-default has a rules baseline: late-payment's cascade ends with its own models", () => {
  assert.ok(rulesBaselineFor(spec) instanceof RulesScorecard);
  const late = JSON.parse(readFileSync("models/late-payment/spec.json", "utf8")) as FeatureSpec;
  // late-payment has features named like the scorecard's, but they describe another target.
  assert.ok(late.features.some((f) => f.name === "worst_delay"));
  assert.equal(rulesBaselineFor(late), undefined);
});
