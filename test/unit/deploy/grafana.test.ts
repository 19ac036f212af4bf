/**
 * deploy/grafana/scoremesh.json: every PromQL expression names only metrics that the services' registries hold
 * (built here from the same constructors the services call), so a renamed metric cannot leave a panel empty.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { BatchMetrics } from "../../../services/lib/batching/batch-metrics.js";
import { RpcServerMetrics } from "../../../services/lib/rpc/server-metrics.js";
import { ServiceMetrics } from "../../../services/lib/service/index.js";
import { registerSegmentGauges } from "../../../services/monitor/dashboard/segment-gauges.js";
import { SegmentView } from "../../../services/monitor/dashboard/segments.js";
import { DecisionMetrics, registerDriftGauges, registerWorkerGauges } from "../../../services/monitor/metrics.js";
import type { ScoreDriftWatch } from "../../../services/monitor/score-drift.js";
import { registerShadowGauges, ShadowPairs } from "../../../services/monitor/shadow-pairs.js";
import { WorkerTable } from "../../../services/monitor/worker-table.js";
import { registerRouterMetrics } from "../../../services/router/router-metrics.js";
import type { BreakerBoard } from "../../../services/router/breakers/breakers.js";
import { EdgeMetrics } from "../../../services/validator/edge-metrics.js";

/** Every series name a scrape of the mesh can show (histograms: _bucket, _sum, _count). */
async function knownNames(): Promise<Set<string>> {
  const service = new ServiceMetrics("router").registry;
  new RpcServerMetrics(service);
  new BatchMetrics(service);
  new EdgeMetrics(service, new Set(["credit-default"]));
  registerRouterMetrics(service, { states: () => ({}) } as unknown as BreakerBoard);
  const monitor = new DecisionMetrics().registry;
  registerDriftGauges(monitor, { readings: () => [] } as unknown as ScoreDriftWatch);
  registerWorkerGauges(monitor, new WorkerTable());
  registerShadowGauges(monitor, new ShadowPairs());
  registerSegmentGauges(monitor, new SegmentView());
  const names = new Set<string>();
  for (const registry of [service, monitor] as Registry[])
    for (const m of await registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
    }
  return names;
}

/** The metric names in a PromQL expression: identifiers left once strings, matchers, ranges, groupings and calls are gone. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, "")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const words = [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .filter((m) => !/^\s*\(/.test(bare.slice(m.index + m[0].length))) // a function call
    .map((m) => m[0]);
  const keywords = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "le"]);
  return words.filter((w) => !keywords.has(w) && !/^\d/.test(w));
}

test("metricNames reads names out of PromQL, not functions, labels or groupings", () => {
  assert.deepEqual(
    metricNames('histogram_quantile(0.99, sum by (service, le) (rate(x_bucket{a="b",c!~"d"}[5m]))) / on (k) y == 1'),
    ["x_bucket", "y"],
  );
});

test("every Grafana panel's expression uses metrics the services register", async () => {
  const dashboard = JSON.parse(readFileSync(join(PROJECT_ROOT, "deploy", "grafana", "scoremesh.json"), "utf8")) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const known = await knownNames();
  assert.ok(known.has("scoremesh_decisions_total") && known.has("process_cpu_seconds_total"), "registries built");
  assert.ok(dashboard.panels.length >= 10, `${dashboard.panels.length} panels`);
  for (const p of dashboard.panels) {
    assert.ok(p.targets.length > 0, `${p.title}: no query`);
    for (const t of p.targets) {
      const names = metricNames(t.expr);
      assert.ok(names.length > 0, `${p.title}: no metric in ${t.expr}`);
      for (const n of names) assert.ok(known.has(n), `${p.title}: ${n} is not a metric of the mesh (${t.expr})`);
    }
  }
});
