import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  OutcomeBandState,
  OutcomeWindowSchema,
  VersionOutcomesSchema,
} from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import {
  appendOutcome,
  bandOf,
  bandState,
  summarize,
  windowPoints,
} from "../../../../services/monitor/outcomes/outcome-window.js";
import { outcomeSection } from "../../../../services/monitor/outcomes/outcome-views.js";
import { DashboardFeed } from "../../../../services/monitor/dashboard/feed.js";
import { dashboardSnapshot } from "../../../../services/monitor/dashboard/http.js";
import { bandReadingsOf } from "../../../../services/monitor/outcomes/outcome-report.js";
import { calibrationError, rocAuc } from "../../../../services/lib/stats/index.js";

const empty = () => create(OutcomeWindowSchema, { model: "m", modelVersion: "1" });

test("the window keeps the last `max` outcomes, oldest first; the totals keep every one", () => {
  let w = empty();
  for (let i = 0; i < 7; i++)
    w = appendOutcome(w, { score: i / 10, tier: Decision.APPROVE, defaulted: i % 2 === 1 }, 5);
  w = appendOutcome(w, { score: 0.9, tier: Decision.DECLINE, defaulted: true }, 5);
  assert.deepEqual(
    windowPoints(w).map((p) => p.score),
    [0.3, 0.4, 0.5, 0.6, 0.9],
  );
  assert.deepEqual(windowPoints(w).at(-1), { score: 0.9, tier: Decision.DECLINE, defaulted: true });
  const approve = w.totals.find((t) => t.tier === Decision.APPROVE)!;
  assert.equal(approve.outcomes, 7n);
  assert.equal(approve.defaults, 3n);
  assert.ok(Math.abs(approve.scoreSum - 2.1) < 1e-12);
  assert.equal(
    w.totals.find((t) => t.tier === Decision.REVIEW),
    undefined,
  );
});

test("the band: no verdict under the minimum sample; above, below or within predicted ± max(band, 3 SE)", () => {
  const opts = { minSample: 100, band: 0.05 };
  assert.equal(bandState(0.9, 0.1, 99, opts), OutcomeBandState.INSUFFICIENT);
  assert.equal(bandState(0.16, 0.1, 10_000, opts), OutcomeBandState.ABOVE);
  assert.equal(bandState(0.04, 0.1, 10_000, opts), OutcomeBandState.BELOW);
  assert.equal(bandState(0.14, 0.1, 10_000, opts), OutcomeBandState.WITHIN);
  // 100 outcomes at p = 0.5: three standard errors (0.15) are wider than the configured 0.05.
  assert.ok(Math.abs(bandOf(0.5, 100, 0.05) - 0.15) < 1e-12);
  assert.equal(bandState(0.62, 0.5, 100, opts), OutcomeBandState.WITHIN);
});

test("summarize: tiers, calibration error and AUC over the window; band readings name tier and state", () => {
  let w = empty();
  const pts = [
    { score: 0.1, tier: Decision.APPROVE, defaulted: false },
    { score: 0.2, tier: Decision.APPROVE, defaulted: true },
    { score: 0.5, tier: Decision.REVIEW, defaulted: false },
    { score: 0.8, tier: Decision.DECLINE, defaulted: true },
  ];
  for (const p of pts) w = appendOutcome(w, p, 100);
  const v = summarize(w, { minSample: 2, band: 0.05 });
  const scores = pts.map((p) => p.score);
  const labels = pts.map((p) => (p.defaulted ? 1 : 0));
  assert.equal(v.rollingAuc, rocAuc(scores, labels));
  assert.equal(v.rollingAuc, 0.75);
  assert.equal(v.calibrationError, calibrationError(scores, labels));
  const approve = v.tiers!.find((t) => t.tier === Decision.APPROVE)!;
  assert.equal(approve.realisedRate, 0.5);
  assert.ok(Math.abs(approve.predictedRate! - 0.15) < 1e-12);
  assert.equal(summarize(empty(), { minSample: 1, band: 0.05 }).rollingAuc, undefined, "no AUC without both classes");
  const readings = bandReadingsOf([create(VersionOutcomesSchema, v)]);
  assert.deepEqual(
    readings.map((r) => [r.tier, r.state]),
    [
      ["approve", "within"],
      ["review", "insufficient"],
      ["decline", "insufficient"],
    ],
  );
});

test("/dashboard.json carries the outcomes section: tiers with rates, band and state", () => {
  let w = empty();
  for (let i = 0; i < 4; i++) w = appendOutcome(w, { score: 0.1, tier: Decision.APPROVE, defaulted: i === 0 }, 100);
  const v = create(VersionOutcomesSchema, summarize(w, { minSample: 4, band: 0.05 }));
  const feed = new DashboardFeed(undefined);
  feed.sections.set("outcomes", () => outcomeSection([v]));
  const snap = dashboardSnapshot(feed, {}, 0) as unknown as { outcomes: ReturnType<typeof outcomeSection> };
  const approve = snap.outcomes[0]!.tiers[0]!;
  assert.deepEqual(
    [approve.tier, approve.outcomes, approve.realised_rate, approve.state],
    ["approve", 4, 0.25, "within"],
  );
  assert.equal(snap.outcomes[0]!.window_outcomes, 4);
});
