import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DriftLevel,
  DriftSubject,
  DriftWindow,
  MonitorService,
} from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { AuditLog } from "../../../../services/monitor/audit-log.js";
import {
  DriftWatch,
  driftJson,
  registerFeatureDriftGauges,
  type DriftRule,
} from "../../../../services/monitor/drift/index.js";
import { DecisionMetrics } from "../../../../services/monitor/metrics.js";
import { ReviewQueue } from "../../../../services/monitor/review-queue.js";
import { monitorRoutes } from "../../../../services/monitor/routes.js";
import { DecisionStats } from "../../../../services/monitor/stats.js";
import { inProcessClient } from "../../../support/in-process.js";
import { CreditStream, MODEL, repo, VERSION } from "./credit-stream.js";

const RULE: DriftRule = { warn: 0.1, alert: 0.25, minSample: 100, windowDecisions: 200, windowMs: 3_600_000 };

test("Record feeds the drift watch; GetDrift, the gauges and the audit file (no inputs) say what it saw", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "monitor-drift-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const audit = new AuditLog(join(dir, "decisions.jsonl"));
  t.after(() => audit.close());
  const featureDrift = new DriftWatch(repo, RULE);
  const metrics = new DecisionMetrics();
  registerFeatureDriftGauges(metrics.registry, featureDrift);
  const parts = { stats: new DecisionStats(), metrics, reviews: new ReviewQueue({ max: 3 }), audit, featureDrift };
  const client = inProcessClient(MonitorService, monitorRoutes(parts));
  const stream = new CreditStream();
  const late = stream.where((r) => r["PAY_0"]! >= 2);
  await client.record({ source: "router-1", records: stream.draw(late, 200, 9) });

  const res = await client.getDrift({ model: MODEL });
  assert.deepEqual(
    [res.rule?.psiWarn, res.rule?.psiAlert, res.rule?.minSample, res.rule?.windowDecisions, res.rule?.windowSeconds],
    [0.1, 0.25, 100, 200, 3600],
  );
  assert.equal(res.versions.length, 1);
  const v = res.versions[0]!;
  assert.equal(v.modelVersion, VERSION);
  const pay = v.features.find((f) => f.feature === "PAY_0" && f.window === DriftWindow.DECISIONS)!;
  assert.deepEqual([pay.subject, pay.level, pay.sample], [DriftSubject.INPUT, DriftLevel.ALERT, 200n]);
  assert.ok(pay.since, "since is set");
  const band = v.features.find((f) => f.feature === "age_band" && f.window === DriftWindow.TIME)!;
  assert.equal(band.subject, DriftSubject.SEGMENT);
  assert.ok(v.confidence!.windows.length === 2 && v.confidence!.windows[0]!.scored === 200n);
  assert.equal((await client.getDrift({ model: "nope" })).versions.length, 0);

  const json = driftJson(featureDrift);
  assert.equal(json.rule.window_seconds, 3600);
  const payJson = json.versions[0]!.features.find((f) => f.feature === "PAY_0" && f.window === "decisions")!;
  assert.deepEqual([payJson.level, payJson.sample], ["alert", 200]);
  assert.equal(json.versions[0]!.confidence.decisions.scored, 200);

  const text = await metrics.registry.metrics();
  assert.match(
    text,
    /scoremesh_feature_psi\{model="credit-default",version="1",feature="PAY_0",window="decisions"\} \d/,
  );
  assert.match(
    text,
    /scoremesh_feature_drift_state\{model="credit-default",version="1",feature="PAY_0",window="time"\} 2/,
  );
  assert.match(text, /scoremesh_review_band_share\{model="credit-default",version="1",window="decisions"\} 0\.\d+/);
  const line = JSON.parse(readFileSync(join(dir, "decisions.jsonl"), "utf8").split("\n")[0]!) as Record<
    string,
    unknown
  >;
  assert.equal(line["inputs"], undefined, "the monitor's audit file keeps no raw inputs");
  assert.ok(line["segment"]);
});
