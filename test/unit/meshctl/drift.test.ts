import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { GetDriftResponseSchema } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { getDriftResponse, DriftWatch, type DriftRule } from "../../../services/monitor/drift/index.js";
import { driftText } from "../../../tools/meshctl/drift.js";
import { CreditStream, MODEL, repo } from "../monitor/drift/credit-stream.js";

const RULE: DriftRule = { warn: 0.1, alert: 0.25, minSample: 100, windowDecisions: 200, windowMs: 3_600_000 };

test("meshctl drift prints PSI, state, sample and since per feature and window, and the confidence figures", () => {
  let now = Date.UTC(2026, 10, 30);
  const watch = new DriftWatch(repo, RULE, () => now);
  const stream = new CreditStream();
  for (const r of stream.draw(
    stream.where((x) => x["PAY_0"]! >= 2),
    200,
    1,
  )) {
    watch.add(r);
    now += 50; // 20 decisions/s: the states are read once a second as they come
  }
  now += 90_000;
  const text = driftText(MODEL, create(GetDriftResponseSchema, getDriftResponse(watch, MODEL)), now);
  const lines = text.split("\n");
  assert.match(lines[0]!, /warn ≥ 0\.1, alert ≥ 0\.25; no state under 100 .*last 200 decisions, last 3600 s/);
  assert.ok(lines.includes("version 1"));
  assert.match(text, /\n {2}PAY_0 +\d+\.\d{3} {2}ALERT +200 {2}9\ds +\d+\.\d{3} {2}ALERT +200 {2}9\ds\n/);
  assert.match(text, /\n {2}age_band +\d+\.\d{3} {2}\S+ +200 /);
  assert.match(
    text,
    /confidence \(review 0\.2868 ≤ score < decline 0\.5234; reference \d+\.\d % in band\): last N \d+\.\d % in band/,
  );
  assert.match(
    driftText("nope", create(GetDriftResponseSchema, getDriftResponse(watch, "nope")), now),
    /no version of nope/,
  );
});
