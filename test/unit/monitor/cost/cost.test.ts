import assert from "node:assert/strict";
import { test } from "node:test";
import { Route } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { apportion, type Usage } from "../../../../services/monitor/cost/apportion.js";
import { parsePromText } from "../../../../services/monitor/cost/prom-text.js";
import { UsageScraper } from "../../../../services/monitor/cost/usage-scraper.js";

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test("parsePromText: the named metrics' samples with unescaped labels; comments and others skipped", () => {
  const text = [
    "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
    'process_cpu_seconds_total{service="router"} 12.5',
    'scoremesh_decisions_total{model="m",version="1",route="primary",note="a \\"b\\", c"} 7',
    "other_total 3",
  ].join("\n");
  const names = new Set(["process_cpu_seconds_total", "scoremesh_decisions_total"]);
  assert.deepEqual(parsePromText(text, names), [
    { name: "process_cpu_seconds_total", labels: { service: "router" }, value: 12.5 },
    {
      name: "scoremesh_decisions_total",
      labels: { model: "m", version: "1", route: "primary", note: 'a "b", c' },
      value: 7,
    },
  ]);
});

test("apportion: a version's execution time to its decisions, the rest equally per decision, priced", () => {
  const u: Usage = {
    periodSeconds: 60,
    cpu: new Map([
      ["router", { seconds: 10, instances: 1 }],
      ["model-worker", { seconds: 30, instances: 2 }],
    ]),
    execution: [
      { model: "m", version: "1", provider: "cpu", seconds: 4 },
      { model: "m", version: "2", provider: "cpu", seconds: 16 },
      { model: "m", version: "3", provider: "cpu", seconds: 5 }, // a shadow: no decisions, shared as the rest
      { model: "m", version: "2", provider: "cuda", seconds: 2 },
    ],
    decisions: [
      { model: "m", version: "1", route: "primary", count: 800 },
      { model: "m", version: "2", route: "canary", count: 150 },
      { model: "m", version: "2", route: "segment", count: 50 },
    ],
  };
  const r = apportion(u, { coreHour: 3.6, gpuHour: 36 });
  // CPU 40 s; attributed 4 + 16; rest 20 s over 1,000 decisions = 0.02 s each.
  const v1 = r.versions!.find((v) => v.modelVersion === "1" && v.route === undefined)!;
  const v2 = r.versions!.find((v) => v.modelVersion === "2" && v.route === undefined)!;
  close(v1.cpuSeconds!, 4 + 16, "v1 cpu");
  close(v2.cpuSeconds!, 16 + 4, "v2 cpu");
  close(v2.gpuSeconds!, 2, "v2 gpu");
  close(v1.cpuSecondsPer1000!, 25, "v1 per 1000");
  close(v2.cpuSecondsPer1000!, 100, "v2 per 1000");
  close(v2.costPer1000!, (100 / 3600) * 3.6 + (10 / 3600) * 36, "v2 price");
  const canary = r.versions!.find((v) => v.modelVersion === "2" && v.route === Route.CANARY)!;
  close(canary.cpuSeconds!, 16 * 0.75 + 150 * 0.02, "canary share");
  const sum = r.versions!.filter((v) => v.route === undefined).reduce((a, v) => a + v.cpuSeconds!, 0);
  close(sum, 40, "every CPU-second apportioned once");
  assert.equal(r.decisions, 1000n);
  close(r.services!.find((s) => s.service === "model-worker")!.cpuSecondsPer1000!, 30, "worker per 1000");
});

test("apportion: execution time above the workers' CPU is scaled down to it; no decisions, no division by zero", () => {
  const u: Usage = {
    periodSeconds: 1,
    cpu: new Map([["model-worker", { seconds: 2, instances: 1 }]]),
    execution: [{ model: "m", version: "1", provider: "cpu", seconds: 8 }],
    decisions: [{ model: "m", version: "1", route: "primary", count: 10 }],
  };
  close(apportion(u, { coreHour: 1, gpuHour: 1 }).versions![0]!.cpuSeconds!, 2, "scaled");
  const none = apportion({ ...u, decisions: [] }, { coreHour: 1, gpuHour: 1 });
  assert.equal(none.versions!.length, 0);
  assert.equal(none.services![0]!.cpuSecondsPer1000, 0);
});

test("UsageScraper: increases since the first scrape; a restart counts from zero; a new series from zero", async () => {
  const pages: Record<string, string> = {
    "http://w/metrics": 'process_cpu_seconds_total{service="model-worker"} 100',
    "http://m/metrics":
      'scoremesh_monitor_process_cpu_seconds_total 5\nscoremesh_decisions_total{model="m",version="1",route="primary"} 1000',
  };
  let t = 0;
  const s = new UsageScraper(
    Object.keys(pages),
    async (url) => pages[url]!,
    () => t,
  );
  await s.scrape();
  pages["http://w/metrics"] = 'process_cpu_seconds_total{service="model-worker"} 103';
  pages["http://m/metrics"] =
    'scoremesh_monitor_process_cpu_seconds_total 6\nscoremesh_decisions_total{model="m",version="1",route="primary"} 1500\n' +
    'scoremesh_decisions_total{model="m",version="2",route="canary"} 40';
  t = 10_000;
  await s.scrape();
  pages["http://w/metrics"] = 'process_cpu_seconds_total{service="model-worker"} 2'; // restarted
  delete pages["http://m/metrics"];
  t = 20_000;
  await s.scrape();
  const u = s.usage();
  assert.equal(u.periodSeconds, 20);
  assert.deepEqual(u.cpu.get("model-worker"), { seconds: 5, instances: 1 });
  assert.deepEqual(u.cpu.get("monitor"), { seconds: 1, instances: 1 });
  assert.deepEqual(
    u.decisions.sort((a, b) => a.version.localeCompare(b.version)),
    [
      { model: "m", version: "1", route: "primary", count: 500 },
      { model: "m", version: "2", route: "canary", count: 40 },
    ],
  );
  assert.deepEqual([...s.unreachable], ["http://m/metrics"]);
});
