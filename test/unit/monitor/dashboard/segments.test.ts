import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { DecisionRecordSchema } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { Registry } from "prom-client";
import { registerSegmentGauges } from "../../../../services/monitor/dashboard/segment-gauges.js";
import { SegmentView } from "../../../../services/monitor/dashboard/segments.js";

const rec = (version: string, segment: Record<string, string>, decision: Decision, score: number, tenantId = "") =>
  create(DecisionRecordSchema, { model: "m", modelVersion: version, segment, decision, score, tenantId });

/** `n` decisions of a group: `approve` of them approvals, the rest declines. */
function feed(view: SegmentView, version: string, sex: string, n: number, approve: number): void {
  for (let i = 0; i < n; i++)
    view.add(rec(version, { sex }, i < approve ? Decision.APPROVE : Decision.DECLINE, i < approve ? 0.1 : 0.8, "t1"));
}

test("rates and mean score per group, per attribute, per version; tenant as an attribute", () => {
  const v = new SegmentView({ minSample: 1, bound: 0.8 });
  v.add(rec("1", { sex: "female", age_band: "25-34" }, Decision.APPROVE, 0.1, "acme"));
  v.add(rec("1", { sex: "female", age_band: "25-34" }, Decision.REVIEW, 0.4, "acme"));
  v.add(rec("1", { sex: "male", age_band: "<25" }, Decision.DECLINE, 0.9));
  v.add(rec("2", { sex: "male", age_band: "<25" }, Decision.APPROVE, 0.2));
  const [one, two] = v.view();
  assert.deepEqual([one!.version, two!.version], ["1", "2"]);
  const sex = one!.attributes.find((a) => a.attribute === "sex")!;
  assert.deepEqual(sex.groups[0], {
    group: "female",
    decisions: 2,
    approveRate: 0.5,
    reviewRate: 0.5,
    declineRate: 0,
    meanScore: 0.25,
  });
  assert.equal(sex.approvalRatio, 0, "male approves 0 %, female 50 %");
  assert.equal(sex.flagged, true);
  const tenants = one!.attributes.find((a) => a.attribute === "tenant")!;
  assert.deepEqual(
    tenants.groups.map((g) => g.group),
    ["acme", "none"],
  );
  assert.deepEqual(
    one!.attributes.find((a) => a.attribute === "age_band")!.groups.map((g) => g.group),
    ["<25", "25-34"],
  );
  const single = two!.attributes.find((a) => a.attribute === "sex")!;
  assert.equal(single.approvalRatio, null, "one group: no ratio");
  assert.equal(single.flagged, false);
});

test("the ratio waits until every group has the minimum sample, then flags below the bound", () => {
  const v = new SegmentView({ minSample: 100, bound: 0.8 });
  feed(v, "1", "female", 200, 160); // 80 %
  feed(v, "1", "male", 99, 59); // 59.6 %, one short of the sample
  let sex = v.view()[0]!.attributes.find((a) => a.attribute === "sex")!;
  assert.equal(sex.approvalRatio, null);
  assert.deepEqual(sex.waiting, ["male"]);
  assert.equal(sex.flagged, false, "no alert on a small group");
  feed(v, "1", "male", 1, 1); // 60 / 100
  sex = v.view()[0]!.attributes.find((a) => a.attribute === "sex")!;
  assert.ok(Math.abs(sex.approvalRatio! - 0.6 / 0.8) < 1e-12);
  assert.deepEqual([sex.lowest, sex.highest, sex.flagged], ["male", "female", true]);
});

test("equal rates are not flagged; the bound is configurable", () => {
  const lenient = new SegmentView({ minSample: 10, bound: 0.5 });
  const strict = new SegmentView({ minSample: 10, bound: 0.8 });
  for (const v of [lenient, strict]) {
    feed(v, "1", "female", 50, 40); // 80 %
    feed(v, "1", "male", 50, 30); // 60 %: ratio 0.75
  }
  const flagged = (v: SegmentView) => v.view()[0]!.attributes.find((a) => a.attribute === "sex")!.flagged;
  assert.equal(flagged(lenient), false);
  assert.equal(flagged(strict), true);
  const equal = new SegmentView({ minSample: 10, bound: 0.8 });
  feed(equal, "1", "female", 20, 10);
  feed(equal, "1", "male", 40, 20);
  const sex = equal.view()[0]!.attributes.find((a) => a.attribute === "sex")!;
  assert.deepEqual([sex.approvalRatio, sex.flagged], [1, false]);
});

test("the gauges show the ratio once it is read, and every group's approval rate", async () => {
  const registry = new Registry();
  const v = new SegmentView({ minSample: 10, bound: 0.8 });
  registerSegmentGauges(registry, v);
  feed(v, "1", "female", 20, 16); // 80 %
  feed(v, "1", "male", 5, 3); // under the sample
  let text = await registry.metrics();
  assert.doesNotMatch(text, /^scoremesh_segment_approval_ratio\{[^}]*attribute="sex"/m, "no ratio while waiting");
  assert.match(text, /^scoremesh_segment_approval_rate\{model="m",version="1",attribute="sex",group="female"\} 0\.8$/m);
  feed(v, "1", "male", 15, 9); // 12 / 20 = 60 %
  text = await registry.metrics();
  assert.match(text, /^scoremesh_segment_approval_ratio\{model="m",version="1",attribute="sex"\} 0\.7499/m);
});
