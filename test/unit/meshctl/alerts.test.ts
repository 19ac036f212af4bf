import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ListAlertsResponseSchema, MonitorService } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { DecisionRecordSchema } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { AlertEngine, DecisionWindows, flag } from "../../../services/monitor/alerts/index.js";
import { DecisionMetrics } from "../../../services/monitor/metrics.js";
import { ReviewQueue } from "../../../services/monitor/review-queue.js";
import { monitorRoutes } from "../../../services/monitor/routes.js";
import { DecisionStats } from "../../../services/monitor/stats.js";
import { alertLine } from "../../../tools/meshctl/alerts.js";
import { messageJson } from "../../../tools/meshctl/output.js";
import { inProcessClient } from "../../support/in-process.js";

const OPTS = { size: 100, maxAgeMs: 3_600_000, minSample: 10, errorRate: 0.05, p99Ms: 100, hysteresis: 0.1 };

test("ListAlerts and meshctl alerts: recorded decisions reach the windows; lines say rule, state, value vs threshold, since", async () => {
  const windows = new DecisionWindows(OPTS);
  let open = true;
  const engine = new AlertEngine([windows, { readings: () => [flag("breaker_open", "m", "2", "w:1", open)] }], {
    holdMs: 0,
  });
  const client = inProcessClient(
    MonitorService,
    monitorRoutes({
      stats: new DecisionStats(),
      metrics: new DecisionMetrics(),
      reviews: new ReviewQueue({ max: 10 }),
      alerts: { engine, windows, intervalMs: 5000 },
    }),
  );
  const records = Array.from({ length: 20 }, (_, i) =>
    create(DecisionRecordSchema, { model: "m", modelVersion: "1", degraded: i < 4, latencyMs: 20 }),
  );
  await client.record({ records });
  const now = Date.now();
  engine.evaluate(now);
  const r = await client.listAlerts({});
  assert.equal(r.intervalS, 5);
  assert.deepEqual(
    r.alerts.map((a) => `${a.rule}/${a.modelVersion}`),
    ["breaker_open/2", "error_rate/1", "latency_p99/1"],
    "firing first",
  );
  const lines = r.alerts.map((a) => alertLine(a, now + 90_000));
  assert.match(lines[0]!, /^ {2}firing +breaker_open +m v2 w:1 {2}yes \(alert > 0\.5\) {2}since 90s$/);
  assert.match(lines[1]!, /^ {2}firing +error_rate +m v1 {2}0\.200 \(alert > 0\.05\) {2}since 90s$/);
  assert.match(lines[2]!, /^ {2}ok +latency_p99 +m v1 {2}20\.0 ms \(alert > 100\) {2}since 90s$/);
  const json = messageJson(ListAlertsResponseSchema, r) as { alerts: Record<string, unknown>[] };
  assert.equal(json.alerts[0]!["state"], "ALERT_STATE_FIRING");
  assert.equal(json.alerts[1]!["minSample"], "10");
  open = false;
  engine.evaluate(now + 1000);
  const active = await client.listAlerts({ model: "m", activeOnly: true });
  assert.deepEqual(
    active.alerts.map((a) => a.rule),
    ["error_rate"],
  );
});

test("ListAlerts without an engine: none, interval 0", async () => {
  const client = inProcessClient(
    MonitorService,
    monitorRoutes({ stats: new DecisionStats(), metrics: new DecisionMetrics(), reviews: new ReviewQueue({ max: 1 }) }),
  );
  const r = await client.listAlerts({});
  assert.deepEqual([r.alerts.length, r.intervalS], [0, 0]);
});
