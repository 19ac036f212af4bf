import { test } from "node:test";
import assert from "node:assert/strict";
import { ModelRepository } from "../../../../services/lib/model/index.js";
import { ModelCards } from "../../../../services/monitor/dashboard/model-cards.js";
import type { ScoreMixView } from "../../../../services/monitor/dashboard/score-mix.js";

const repo = new ModelRepository("models");
const mixOf = (version: string, role: string): ScoreMixView => ({
  model: "credit-default",
  version,
  role,
  decisions: 10,
  routes: {},
  score_bins: [],
});
const roles = (cards: ModelCards) =>
  cards.view().map((c) => `${c.model}/${c.version} ${c.role} ${c.role_from}${c.missing ? " missing" : ""}`);

test("model cards: the serving versions' cards, from the policy, else the decisions seen, else the seed champion", () => {
  let seen: ScoreMixView[] = [];
  const cards = new ModelCards(repo, () => seen);
  assert.deepEqual(roles(cards), ["credit-default/3 champion seed", "late-payment/2 champion seed"]);

  seen = [mixOf("3", "champion"), mixOf("4", "canary"), mixOf("2", "shadow")];
  assert.deepEqual(roles(cards).slice(0, 2), [
    "credit-default/3 champion decisions",
    "credit-default/4 canary decisions",
  ]);

  cards.setServing("credit-default", { champion: "4", canary: "5", canaryPercent: 25 });
  cards.setServing("late-payment", { champion: "9" });
  assert.deepEqual(roles(cards), [
    "credit-default/4 champion policy",
    "credit-default/5 canary policy",
    "late-payment/9 champion policy missing",
  ]);
});

test("model cards: a card's regulator sections, as the page draws them", () => {
  const cards = new ModelCards(repo, () => []);
  cards.setServing("credit-default", { champion: "3", canary: "4", canaryPercent: 30 });
  const [champion, canary] = cards.view();
  assert.equal(canary!.canary_percent, 30);
  assert.equal(champion!.roc_auc, 0.7881);
  assert.match(champion!.intended_use!, /^Estimates the probability that a credit card holder defaults/);
  assert.ok(champion!.limitations!.some((l) => /one Taiwanese bank in 2005/.test(l)));
  const p = champion!.performance!;
  assert.equal(p.rows, 5000);
  assert.deepEqual(
    p.segments.map((s) => s.attribute),
    ["age_band", "sex", "marriage", "education"],
  );
  const sex = p.segments[1]!;
  assert.deepEqual(
    sex.groups.map((g) => g.group),
    ["male", "female"],
  );
  assert.equal(
    sex.groups.reduce((n, g) => n + g.rows, 0),
    5000,
  );
  assert.ok(sex.approval_ratio! > 0 && sex.approval_ratio! <= 1);
});
