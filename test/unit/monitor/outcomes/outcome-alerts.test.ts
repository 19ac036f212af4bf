import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { VersionOutcomesSchema, type VersionOutcomes } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { AlertEngine } from "../../../../services/monitor/alerts/index.js";
import { outcomeAlertSource } from "../../../../services/monitor/outcomes/outcome-alerts.js";

const version = (realisedRate: number, outcomes: bigint): VersionOutcomes =>
  create(VersionOutcomesSchema, {
    model: "m",
    modelVersion: "4",
    tiers: [{ tier: Decision.APPROVE, outcomes, realisedRate, predictedRate: 0.1, band: 0.05 }],
  });

test("outcome band alerts: a tier realised outside its band fires once the sample is there; reads never wait", async () => {
  let reads = 0;
  const report = { latest: [version(0.3, 50n)], versions: async () => (reads++, report.latest) };
  const engine = new AlertEngine([outcomeAlertSource(report, 200, 0.1)], { holdMs: 0 });
  engine.evaluate(0);
  const [small] = engine.list();
  assert.deepEqual([small!.rule, small!.subject, small!.state], ["outcome_band", "approve", "ok"], "50 < 200 outcomes");
  assert.ok(Math.abs(small!.threshold - 0.15) < 1e-12, "the band's upper edge");
  await Promise.resolve();
  assert.equal(reads, 1, "each evaluation starts one background read");

  report.latest = [version(0.3, 400n)];
  engine.evaluate(1);
  engine.evaluate(2);
  assert.equal(engine.list()[0]!.state, "firing");
  report.latest = [version(0.12, 400n)];
  engine.evaluate(3);
  assert.equal(engine.list()[0]!.state, "ok", "back inside the band");
});
