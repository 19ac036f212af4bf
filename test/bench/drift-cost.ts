import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { DecisionRecordSchema, type DecisionRecord } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { ModelRepository, segmentsOf } from "../../services/lib/model/index.js";
import { replayInputs } from "../../services/feature/replay-inputs.js";
import { DriftWatch } from "../../services/monitor/drift/index.js";
import { creditRows } from "../support/credit-data.js";

/**
 * What online drift costs: the monitor's DriftWatch.add per decision (score, 20 inputs, 3 segments, confidence,
 * both windows; states read every 100 records) and a full read (what GetDrift, a scrape and /dashboard.json do), as
 * CPU time (process.cpuUsage) over 1,000 distinct credit-default records of two versions; and on the router's side
 * the bytes and encoding time DecisionRecord.inputs (field 24) adds to each record the sink sends (and the decoding
 * time it adds at the monitor).
 * Run: npm run build && node dist/test/bench/drift-cost.js [--n 1000000]
 */
const N = Number(process.argv[process.argv.indexOf("--n") + 1]) || 1_000_000;
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = repo.spec("credit-default");
const records: DecisionRecord[] = creditRows(1000).map((inputs, i) =>
  create(DecisionRecordSchema, {
    requestId: `req-${i}-0123456789abcdef`,
    traceId: "0123456789abcdef0123456789abcdef",
    model: "credit-default",
    modelVersion: i % 5 ? "3" : "4",
    score: (i % 97) / 97,
    decision: 1 + (i % 3),
    route: i % 5 ? 1 : 2,
    latencyMs: 1 + (i % 13),
    decidedAt: timestampNow(),
    tenantId: "dev",
    featureSpecHash: "sha256:0123456789abcdef",
    segment: segmentsOf(spec, inputs),
    inputs: replayInputs(spec, inputs, undefined).inputs,
  }),
);

function cpuPer(n: number, run: (i: number) => void): { cpuUs: number; wallUs: number } {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) run(i);
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / n, wallUs: Number(process.hrtime.bigint() - wall) / 1000 / n };
}

const line = (name: string, r: { cpuUs: number; wallUs: number }, unit = "µs") =>
  console.log(`${name.padEnd(52)} ${r.cpuUs.toFixed(3)} ${unit} CPU (${r.wallUs.toFixed(3)} ${unit} wall)`);

const watch = new DriftWatch(repo);
for (let i = 0; i < 100_000; i++) watch.add(records[i % 1000]!); // warm-up
line(
  "monitor: DriftWatch.add per decision",
  cpuPer(N, (i) => watch.add(records[i % 1000]!)),
);
const read = cpuPer(200, () => watch.view());
line(
  "monitor: a full read (2 versions, 24 features, 2 windows)",
  { cpuUs: read.cpuUs / 1000, wallUs: read.wallUs / 1000 },
  "ms",
);

const without = records.map((r) => create(DecisionRecordSchema, { ...r, inputs: new Uint8Array(0) }));
const bytes = (rs: DecisionRecord[]) =>
  rs.reduce((s, r) => s + toBinary(DecisionRecordSchema, r).length, 0) / rs.length;
console.log(
  `router: record bytes without inputs ${bytes(without).toFixed(0)}, with inputs ${bytes(records).toFixed(0)}`,
);
const enc = (rs: DecisionRecord[]) => cpuPer(N / 4, (i) => toBinary(DecisionRecordSchema, rs[i % 1000]!));
line("router: encode a record without inputs", enc(without));
line("router: encode a record with inputs", enc(records));
const dec = (rs: DecisionRecord[]) => {
  const wire = rs.map((r) => toBinary(DecisionRecordSchema, r));
  return cpuPer(N / 4, (i) => fromBinary(DecisionRecordSchema, wire[i % 1000]!));
};
line("monitor: decode a record without inputs", dec(without));
line("monitor: decode a record with inputs", dec(records));
