import { create } from "@bufbuild/protobuf";
import { DecisionRecordSchema, type DecisionRecord } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { DashboardFeed } from "../../services/monitor/dashboard/feed.js";
import { dashboardSnapshot } from "../../services/monitor/dashboard/http.js";
import { ScoreMix } from "../../services/monitor/dashboard/score-mix.js";
import { SegmentView } from "../../services/monitor/dashboard/segments.js";
import { Timeline } from "../../services/monitor/dashboard/timeline.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { join } from "node:path";

/**
 * The monitor's cost per decision of the dashboard: the segment view, the time series and the score mix, each alone
 * and together (DashboardFeed.add, what the Record handler calls per record), as CPU time (process.cpuUsage, less
 * moved by other processes on a busy machine than wall time, which is printed too), over 1,000 distinct credit-default
 * records (3 segment attributes + tenant, two versions); and the time to build /dashboard.json.
 * Run: npm run build && node dist/test/bench/dashboard-cost.js [--n 2000000]
 */
const N = Number(process.argv[process.argv.indexOf("--n") + 1]) || 2_000_000;
const AGES = ["<25", "25-34", "35-44", "45-54", "55-64", "65+"];
const records: DecisionRecord[] = Array.from({ length: 1000 }, (_, i) =>
  create(DecisionRecordSchema, {
    model: "credit-default",
    modelVersion: i % 5 ? "3" : "4",
    score: (i % 97) / 97,
    decision: 1 + (i % 3),
    route: i % 5 ? 1 : 2,
    latencyMs: 1 + (i % 13),
    tenantId: `t${i % 3}`,
    segment: {
      age_band: AGES[i % 6]!,
      sex: i % 2 ? "male" : "female",
      marriage: ["married", "single", "other"][i % 3]!,
    },
  }),
);

function perDecision(name: string, add: (r: DecisionRecord) => void): void {
  for (let i = 0; i < 200_000; i++) add(records[i % 1000]!); // warm-up
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < N; i++) add(records[i % 1000]!);
  const used = process.cpuUsage(cpu);
  const wallUs = Number(process.hrtime.bigint() - wall) / 1000 / N;
  const cpuUs = (used.user + used.system) / N;
  console.log(`${name.padEnd(40)} ${cpuUs.toFixed(3)} µs CPU (${wallUs.toFixed(3)} µs wall) per decision`);
}

const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const feed = new DashboardFeed(repo);
perDecision(
  "segment view",
  (
    (v) => (r) =>
      v.add(r)
  )(new SegmentView()),
);
perDecision(
  "time series (with confidence decay)",
  (
    (t) => (r) =>
      t.add(r, Date.now())
  )(new Timeline(() => undefined)),
);
perDecision(
  "score mix",
  (
    (m) => (r) =>
      m.add(r)
  )(new ScoreMix()),
);
perDecision("all three (DashboardFeed.add)", (r) => feed.add(r));
const t0 = process.hrtime.bigint();
for (let i = 0; i < 100; i++) JSON.stringify(dashboardSnapshot(feed, {}, Date.now()));
console.log(
  `/dashboard.json (without /stats.json's part)     ${(Number(process.hrtime.bigint() - t0) / 100 / 1e6).toFixed(2)} ms`,
);
