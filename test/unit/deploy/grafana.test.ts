/**
 * deploy/grafana/scoremesh.json: every PromQL expression names only metrics that the services' registries hold
 * (built here from the same constructors the services call) and matches only labels those metrics have, so a renamed
 * metric or label cannot leave a panel empty; the model and version variables filter every panel that can be
 * filtered; each section of the monitor's page has a panel; and promtool parses every expression.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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
import { registerAlertGauges } from "../../../services/monitor/alerts/alert-metrics.js";
import { registerCostGauges } from "../../../services/monitor/cost/start-cost.js";
import type { CostReport } from "../../../services/monitor/cost/cost-report.js";
import type { DriftWatch } from "../../../services/monitor/drift/drift-watch.js";
import { registerFeatureDriftGauges } from "../../../services/monitor/drift/drift-gauges.js";
import { registerOutcomeGauges } from "../../../services/monitor/outcomes/outcome-gauges.js";
import type { OutcomeReporter } from "../../../services/monitor/outcomes/outcome-report.js";
import { registerShadowGauges, ShadowPairs } from "../../../services/monitor/shadow-pairs.js";
import { WorkerTable } from "../../../services/monitor/worker-table.js";
import { registerRouterMetrics } from "../../../services/router/router-metrics.js";
import type { BreakerBoard } from "../../../services/router/breakers/breakers.js";
import { EdgeMetrics } from "../../../services/validator/edge-metrics.js";

/** Labels Prometheus or the registries' defaults add to every series: not in a metric's own label names. */
const TARGET_LABELS = ["job", "instance", "service"];

/** A registered metric as prom-client holds it. */
interface Scraped {
  name: string;
  labelNames: string[];
  get(): Promise<{ type: unknown }>;
}

/**
 * Every series name a scrape of the mesh can show (histograms: _bucket, _sum, _count), with its label names
 * (histograms' _bucket: le too).
 */
async function knownNames(): Promise<Map<string, Set<string>>> {
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
  registerFeatureDriftGauges(monitor, { view: () => [] } as unknown as DriftWatch);
  registerOutcomeGauges(monitor, { latest: [], versions: () => Promise.resolve([]) } as unknown as OutcomeReporter);
  registerCostGauges(monitor, { report: () => ({ services: [], versions: [] }) } as unknown as CostReport);
  registerAlertGauges(monitor, { list: () => [] });
  const names = new Map<string, Set<string>>();
  for (const registry of [service, monitor] as Registry[])
    for (const m of registry.getMetricsAsArray() as unknown as Scraped[]) {
      const labels = new Set([...m.labelNames, ...TARGET_LABELS]);
      names.set(m.name, labels);
      if (String((await m.get()).type) === "histogram") {
        names.set(m.name + "_bucket", new Set([...labels, "le"]));
        for (const s of ["_sum", "_count"]) names.set(m.name + s, labels);
      }
    }
  return names;
}

/** Each `metric{matchers}` of an expression: the metric and the label names its matchers use. */
export function selectors(expr: string): { metric: string; labels: string[] }[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)].map((m) => ({
    metric: m[1]!,
    labels: [...m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1]!),
  }));
}

interface Dashboard {
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
  panels: { title: string; type: string; targets: { expr: string }[] }[];
}

const dashboard = JSON.parse(
  readFileSync(join(PROJECT_ROOT, "deploy", "grafana", "scoremesh.json"), "utf8"),
) as Dashboard;

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

test("selectors reads each metric's matcher labels", () => {
  assert.deepEqual(selectors('sum(rate(x_bucket{a="b",c!~"d"}[5m])) / y{model=~"$model"} + z'), [
    { metric: "x_bucket", labels: ["a", "c"] },
    { metric: "y", labels: ["model"] },
  ]);
});

test("every Grafana panel's expression uses metrics the services register", async () => {
  const known = await knownNames();
  assert.ok(known.has("scoremesh_decisions_total") && known.has("process_cpu_seconds_total"), "registries built");
  assert.ok(dashboard.panels.length >= 10, `${dashboard.panels.length} panels`);
  for (const p of dashboard.panels) {
    assert.ok(p.targets.length > 0, `${p.title}: no query`);
    for (const t of p.targets) {
      const names = metricNames(t.expr);
      assert.ok(names.length > 0, `${p.title}: no metric in ${t.expr}`);
      for (const n of names) assert.ok(known.has(n), `${p.title}: ${n} is not a metric of the mesh (${t.expr})`);
      for (const s of selectors(t.expr))
        for (const l of s.labels) assert.ok(known.get(s.metric)?.has(l), `${p.title}: ${s.metric} has no label ${l}`);
    }
  }
});

test("the model and version variables read a registered label and filter every metric that has it", async () => {
  const known = await knownNames();
  const variables = dashboard.templating.list.filter((v) => v.type === "query");
  assert.deepEqual(
    variables.map((v) => v.name),
    ["model", "version"],
  );
  for (const v of variables) {
    const query = typeof v.query === "string" ? v.query : v.query.query;
    const m = /^label_values\(([a-z_:]+)(?:\{[^}]*\})?, *([a-z_]+)\)$/.exec(query);
    assert.ok(m && known.get(m[1]!)?.has(m[2]!), `${v.name}: ${query} reads a registered metric's label`);
    assert.equal(m[2], v.name);
  }
  for (const p of dashboard.panels)
    for (const t of p.targets)
      for (const n of metricNames(t.expr))
        for (const label of ["model", "version"])
          if (known.get(n)?.has(label))
            assert.match(t.expr, new RegExp(`${n}\\{[^}]*${label}=~"\\$${label}"`), `${p.title}: ${n} by $${label}`);
});

test("each section of the monitor's page has a Grafana panel: drift, confidence, outcomes, cost, alerts", () => {
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
  for (const metric of [
    "scoremesh_feature_psi",
    "scoremesh_feature_drift_state",
    "scoremesh_review_band_share",
    "scoremesh_threshold_distance_mean",
    "scoremesh_outcome_realised_rate",
    "scoremesh_outcome_predicted_rate",
    "scoremesh_outcome_band_breached",
    "scoremesh_outcome_calibration_error",
    "scoremesh_outcome_rolling_auc",
    "scoremesh_cost_per_1000_decisions",
    "scoremesh_cost_service_cpu_seconds_per_1000_decisions",
    "scoremesh_alert_state",
    "scoremesh_alert_value",
    "scoremesh_alert_threshold",
  ])
    assert.ok(metricNames(exprs).includes(metric), `no panel reads ${metric}`);
});

test("promtool: every panel's expression parses (as a recording rule, the variables filled in)", () => {
  if (spawnSync("promtool", ["--version"]).status !== 0) {
    // Like the cross-language test: fails, never skips (.ci/run installs Debian's prometheus package).
    assert.fail("promtool is missing: apt-get install prometheus");
  }
  const rules = dashboard.panels.flatMap((p, i) =>
    p.targets.map((target, j) => ({
      record: `grafana_panel_${i}_${j}`,
      expr: target.expr.replaceAll("$__rate_interval", "1m").replace(/\$(model|version)\b/g, ".*"),
    })),
  );
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-grafana-"));
  try {
    const file = join(dir, "panels.yaml");
    writeFileSync(file, JSON.stringify({ groups: [{ name: "grafana", rules }] })); // JSON is YAML
    const check = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8" });
    assert.equal(check.status, 0, `promtool check rules: ${check.stdout}${check.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
