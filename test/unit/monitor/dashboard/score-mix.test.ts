import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { DecisionRecordSchema, ShadowOfSchema } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Route } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { ScoreMix, SCORE_BINS } from "../../../../services/monitor/dashboard/score-mix.js";

const rec = (version: string, route: Route, score: number, shadow = false) =>
  create(DecisionRecordSchema, {
    model: "m",
    modelVersion: version,
    route,
    score,
    shadowOf: shadow ? create(ShadowOfSchema, { championVersion: "3" }) : undefined,
  });

test("score distributions and routes per version; the role follows the routes; shadow scores apart", () => {
  const mix = new ScoreMix();
  mix.add(rec("3", Route.PRIMARY, 0.01));
  mix.add(rec("3", Route.PRIMARY, 0.99));
  mix.add(rec("3", Route.RULES, 1));
  mix.add(rec("4", Route.CANARY, 0.5));
  mix.add(rec("5", Route.PRIMARY, 0.5, true));
  const [champion, canary, shadow] = mix.view();
  assert.deepEqual([champion!.role, canary!.role, shadow!.role], ["champion", "canary", "shadow"]);
  assert.deepEqual(champion!.routes, { primary: 2, rules: 1 });
  assert.equal(champion!.score_bins.length, SCORE_BINS);
  assert.equal(champion!.score_bins[0], 1);
  assert.equal(champion!.score_bins[SCORE_BINS - 1], 2, "1.0 falls in the last bin");
  assert.equal(canary!.score_bins[10], 1);
  assert.equal(shadow!.decisions, 1);
});
