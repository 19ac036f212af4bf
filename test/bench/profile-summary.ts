import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Summarises V8 CPU profiles (`node --cpu-prof`; JSON with nodes, samples, timeDeltas) by stage of a decision.
 * Each sample goes to the innermost frame on its stack that belongs to a known stage (project code or a
 * library); node core and native frames (HTTP/2, TLS, streams, timers) count for the stage that called them.
 * Samples with no such frame: "node core" (event loop, socket reads, TLS records, timers), GC, or native.
 * Only the main thread is profiled: V8's helper threads and libuv's pool are not in a .cpuprofile (see the
 * thread CPU in test/bench/hop-profile.ts).
 * Run alone: node dist/test/bench/profile-summary.js FILE.cpuprofile... (whole profiles, ms per stage; with
 * STAGE="<stage>" also the functions with the most self time in that stage).
 */

/** Stage → what a frame's script URL must match; the first match wins. */
export const STAGES: [string, RegExp][] = [
  ["TreeSHAP / reason codes", /services\/router\/explain\/|tree-shap|tree-ensemble/],
  ["decision records to the monitor", /services\/router\/monitor-sink|services\/validator\/edge-audit-records/],
  ["audit trail (spool, hash chain, NATS)", /services\/lib\/audit\//],
  ["monitor: stats, drift, audit log", /services\/monitor\/|services\/lib\/stats\//],
  [
    "batching",
    /services\/lib\/batching\/|services\/router\/workers\/|services\/model-worker\/(batching|version-batch)/,
  ],
  ["validation", /services\/validator\/(validation|row-plan|admission|auth\/)/],
  ["feature building", /services\/feature\/|services\/lib\/model\/(feature-spec|entity-snapshot)/],
  ["ONNX Runtime", /onnxruntime/],
  ["spans (OpenTelemetry)", /@opentelemetry|services\/lib\/rpc\/tracing/],
  ["logging (pino)", /\/pino|sonic-boom|thread-stream|services\/lib\/service\/logger/],
  ["metrics (prom-client)", /prom-client|metrics\.js$/],
  ["protobuf: Struct / JSON conversion", /@bufbuild\/protobuf\/dist\/\w+\/(to-json|from-json|wkt\/)/],
  ["protobuf: binary", /@bufbuild\/protobuf/],
  ["gRPC adapter (Connect, services/lib/rpc)", /@connectrpc|services\/lib\/rpc\//],
  ["grpc-js (with the HTTP/2 and TLS it calls)", /@grpc\/grpc-js/],
  ["NATS client", /node_modules\/(nats|@nats-io)/],
  ["services: the rest", /services\//],
  ["other libraries", /node_modules/],
];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function stageOf(url: string): string | undefined {
  if (!url || url.startsWith("node:")) return undefined;
  return STAGES.find(([, re]) => re.test(url))?.[0];
}

/** The stage of each profile node: its own, or its nearest caller's. */
function nodeStages(p: CpuProfile): Map<number, string> {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const out = new Map<number, string>();
  const resolve = (id: number): string => {
    const known = out.get(id);
    if (known) return known;
    const n = byId.get(id)!;
    const own = stageOf(n.callFrame.url);
    const up = parent.get(id);
    let stage = own ?? (up === undefined ? "" : resolve(up));
    if (!stage || stage === "(root)") stage = rootStage(n.callFrame.functionName);
    out.set(id, stage);
    return stage;
  };
  for (const n of p.nodes) resolve(n.id);
  return out;
}

function rootStage(functionName: string): string {
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(idle)") return "(idle)";
  if (functionName === "(program)") return "native, unattributed (program)";
  if (functionName === "(root)") return "(root)";
  return "node core (event loop, sockets, TLS records, timers)";
}

/**
 * µs of main-thread time by stage, over the samples whose timestamps (µs, the monotonic clock of
 * process.hrtime) fall within [from, to]; idle excluded.
 */
export function summarise(p: CpuProfile, from = -Infinity, to = Infinity): Map<string, number> {
  const stages = nodeStages(p);
  const out = new Map<string, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if (t < from || t > to) continue;
    const stage = stages.get(p.samples[i]!)!;
    if (stage === "(idle)") continue;
    const us = p.timeDeltas[i + 1] ?? 0;
    out.set(stage, (out.get(stage) ?? 0) + us);
  }
  return out;
}

/** The functions with the most self time in `stage` (µs), for evidence: "name (file:line)". */
export function topFunctions(p: CpuProfile, stage: string, n = 8, from = -Infinity, to = Infinity): [string, number][] {
  const stages = nodeStages(p);
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if (t < from || t > to || stages.get(p.samples[i]!) !== stage) continue;
    const cf = byId.get(p.samples[i]!)!.callFrame as ProfileNode["callFrame"] & { lineNumber?: number };
    const key = `${cf.functionName || "(anonymous)"} (${cf.url.split("/").slice(-2).join("/")}:${(cf.lineNumber ?? -1) + 1})`;
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  }
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const file of process.argv.slice(2)) {
    const s = summarise(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
    const total = [...s.values()].reduce((a, b) => a + b, 0);
    console.log(`${file}: ${(total / 1000).toFixed(0)} ms busy`);
    for (const [k, v] of [...s].sort((a, b) => b[1] - a[1]))
      console.log(`  ${k}: ${(v / 1000).toFixed(1)} ms (${((100 * v) / total).toFixed(1)} %)`);
    const only = process.env["STAGE"];
    if (only)
      for (const [fn, v] of topFunctions(JSON.parse(readFileSync(file, "utf8")) as CpuProfile, only, 15))
        console.log(`    ${fn}: ${(v / 1000).toFixed(1)} ms`);
  }
}
