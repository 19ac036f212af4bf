import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBaseline, startBenchMesh, type BenchSystem } from "./bench-systems.js";
import { echoCall, echoClient, startEchoChain } from "./echo-chain.js";
import { CpuWindow, waitForQuiet } from "./machine.js";
import { median, openLoop, quantile } from "./open-loop.js";
import { cpuAt, search, P99_TARGET_MS, type SearchResult } from "./floor-search.js";

/**
 * `--only floor`: the figures of issue 15, each the median of three runs, for the mesh (microservices), the
 * one-process baseline and, where startMesh has it, the monolithic mode:
 *  - what a decision adds at 50 calls/s (p50, uniform arrivals) over a direct single-row ModelInfer to the
 *    system's worker, against what a bare grpc-js echo chain of the same depth (4 processes: validator, feature,
 *    router, worker) over the same transport security (mutual TLS) adds over calling its last process, same run;
 *  - throughput at p99 ≤ 50 ms with Poisson arrivals (a ladder, then bisection), with everything on;
 *  - server CPU per decision (every server process, nats-server included) at the highest ladder rate both the
 *    system and the baseline kept up with in every run, and at 50 calls/s.
 */

export const CHAIN_DEPTH = 4;
const RATE = 50;
const RUNS = 3;
const WARM_UP_RATE = 200;
const WARM_UP_SECONDS = (o: FloorOptions) => (o.quick ? 3 : 30);

export interface FloorOptions {
  quick: boolean;
  log: (s: string) => void;
}

interface LatencyRound {
  directP50Ms: number;
  decisionP50Ms: number;
  addsMs: number;
  chainAddsMs: number;
  cpuUsPerDecision: number;
}

export interface SystemFloor {
  label: string;
  latency: LatencyRound[];
  searches: SearchResult[];
}

export interface FloorResult {
  mesh: SystemFloor;
  baseline: SystemFloor;
  /** Undefined when startMesh has no monolithic mode yet. */
  monolithic: SystemFloor | undefined;
}

const p50 = async (send: (i: number) => Promise<unknown>, seconds: number) =>
  quantile((await openLoop(send, RATE, seconds, "uniform")).lat, 0.5);

type Chain = { head: () => Promise<void>; tail: () => Promise<void> };

/** One latency round: direct ModelInfer, decision (with its CPU), and the echo chain's tail and head. */
async function latencyRound(sys: BenchSystem, chain: Chain | undefined, seconds: number): Promise<LatencyRound> {
  await waitForQuiet(2000);
  const directP50Ms = sys.infer ? await p50(sys.infer, seconds) : NaN;
  const cpu = new CpuWindow(sys.pids);
  const decisionP50Ms = await p50(sys.score, seconds);
  const c = cpu.close();
  const cpuUsPerDecision = (Object.values(c.byProcess).reduce((a, b) => a + b, 0) * 1000) / (RATE * seconds);
  const chainAddsMs = chain ? (await p50(chain.head, seconds)) - (await p50(chain.tail, seconds)) : NaN;
  return { directP50Ms, decisionP50Ms, addsMs: decisionP50Ms - directP50Ms, chainAddsMs, cpuUsPerDecision };
}

async function measureSystem(sys: BenchSystem, chain: Chain | undefined, o: FloorOptions): Promise<SystemFloor> {
  const latencySeconds = o.quick ? 2 : 3;
  // Warm-up to the steady state: connections, the first batches, and the JIT. At 200/s V8's compiler threads
  // keep optimizing the services' code for 10–20 s (the monolith spent 190 ms/s of CPU on them in its first 10 s
  // and 40 ms/s from the 30th); measured before that, a system is charged for its start, not its steady state.
  o.log(`    ${sys.label}: warm-up, ${WARM_UP_SECONDS(o)} s at ${WARM_UP_RATE}/s`);
  await openLoop(sys.score, WARM_UP_RATE, WARM_UP_SECONDS(o), "uniform");
  if (sys.infer) await openLoop(sys.infer, 200, 1, "uniform");
  if (chain) await openLoop(chain.head, 200, 1, "uniform");
  const latency: LatencyRound[] = [];
  if (sys.infer) {
    for (let r = 0; r < RUNS; r++) {
      const l = await latencyRound(sys, chain, latencySeconds);
      o.log(
        `    ${sys.label} at ${RATE}/s, run ${r + 1}: direct ModelInfer p50 ${l.directP50Ms.toFixed(2)} ms, decision p50 ${l.decisionP50Ms.toFixed(2)} ms (adds ${l.addsMs.toFixed(2)}), echo chain adds ${l.chainAddsMs.toFixed(2)} ms`,
      );
      latency.push(l);
    }
  }
  const searches: SearchResult[] = [];
  const searchOpts = {
    seconds: o.quick ? 1 : 3,
    ladder: o.quick ? [100, 400, 1600, 3200] : [100, 200, 400, 700, 1000, 1400, 2000, 2800, 4000, 5600],
    refine: o.quick ? 1 : 2,
    log: o.log,
  };
  for (let r = 0; r < RUNS; r++)
    searches.push(await search(`${sys.label} run ${r + 1}`, sys.score, sys.pids, searchOpts));
  return { label: sys.label, latency, searches };
}

/** The microservices mesh, measured beside the mTLS echo chain. */
async function meshFloor(o: FloorOptions): Promise<SystemFloor> {
  const mesh = (await startBenchMesh(false))!;
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-floor-"));
  const payload = Buffer.alloc(300);
  let echo: Awaited<ReturnType<typeof startEchoChain>> | undefined;
  const clients: ReturnType<typeof echoClient>[] = [];
  try {
    echo = await startEchoChain(CHAIN_DEPTH, "mtls", dir);
    const [head, tail] = [echo.addresses[0]!, echo.addresses.at(-1)!].map((a) => echoClient(a, "mtls", dir));
    clients.push(head!, tail!);
    return await measureSystem(mesh, { head: () => echoCall(head!, payload), tail: () => echoCall(tail!, payload) }, o);
  } finally {
    clients.forEach((c) => c.close());
    echo?.stop();
    await mesh.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withSystem(sys: BenchSystem | undefined, o: FloorOptions): Promise<SystemFloor | undefined> {
  if (!sys) return undefined;
  try {
    return await measureSystem(sys, undefined, o);
  } finally {
    await sys.stop();
  }
}

export async function runFloor(o: FloorOptions): Promise<FloorResult> {
  o.log("  the mesh (microservices) and a 4-process mTLS echo chain");
  const mesh = await meshFloor(o);
  o.log("  the one-process baseline");
  const baseline = (await withSystem(await startBaseline(), o))!;
  o.log("  the monolithic mode");
  const mono = await startBenchMesh(true).catch((err: unknown) => {
    // A broken monolithic mode must not cost the figures of the other two.
    o.log(`    monolithic: failed to start: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  });
  const monolithic = await withSystem(mono, o);
  if (!monolithic) o.log("    monolithic: not available (startMesh has no `monolithic` option, or it failed to start)");
  return { mesh, baseline, monolithic };
}

// ---------------------------------------------------------------------------------------------------------
// Report

const f = (x: number, d = 0) =>
  Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "–";
const runsOf = (xs: number[], d: number) => xs.map((x) => f(x, d)).join(" / ");

/** The highest ladder rate both kept up with in every run. */
function commonRate(a: SystemFloor, b: SystemFloor): number {
  return Math.min(...[...a.searches, ...b.searches].map((s) => s.sustainedMax));
}

function latencyRow(s: SystemFloor, target: string): string {
  const l = s.latency;
  const adds = median(l.map((r) => r.addsMs));
  const chain = median(l.map((r) => r.chainAddsMs));
  return (
    `| ${s.label} | ${f(median(l.map((r) => r.directP50Ms)), 2)} | ${f(median(l.map((r) => r.decisionP50Ms)), 2)} | ` +
    `**${f(adds, 2)}** (${runsOf(
      l.map((r) => r.addsMs),
      2,
    )}) | ${f(chain, 2)} (${runsOf(
      l.map((r) => r.chainAddsMs),
      2,
    )}) | ` +
    `**${f(adds / chain, 2)}** | ${f(median(l.map((r) => r.cpuUsPerDecision)))} | ${target} |`
  );
}

function throughputRows(s: SystemFloor, base: SystemFloor, target: string, cpuTarget: string): string[] {
  const within = s.searches.map((r) => r.withinP99);
  const baseWithin = median(base.searches.map((r) => r.withinP99));
  const rate = commonRate(s, base);
  const cpu = cpuAt(s.searches, rate);
  const baseCpu = cpuAt(base.searches, rate);
  const throughput = `| ${s.label}: throughput at p99 ≤ ${P99_TARGET_MS} ms, Poisson, req/s (runs) | ${f(median(within))} (${runsOf(within, 0)}) | **${f(median(within) / baseWithin, 2)}** | ${target} |`;
  if (rate <= 0)
    return [
      throughput,
      `| ${s.label}: server CPU per decision: no ladder rate that both kept up with in every run | | | ${cpuTarget} |`,
    ];
  const byProcess = Object.entries(cpu.byProcess)
    .map(([k, v]) => `${k} ${f(v)}`)
    .join(", ");
  return [
    throughput,
    `| ${s.label}: server CPU µs per decision at ${f(rate)}/s (${byProcess}); baseline ${f(baseCpu.serverCpuUs)} | ${f(cpu.serverCpuUs)} | **${f(cpu.serverCpuUs / baseCpu.serverCpuUs, 2)}** | ${cpuTarget} |`,
  ];
}

/** The floor section's markdown. */
export function floorReport(r: FloorResult): string[] {
  const baseWithin = r.baseline.searches.map((s) => s.withinP99);
  const mono = r.monolithic;
  return [
    `### 5. The latency floor and the targets of issue 15 (each figure the median of ${RUNS} runs; \`--only floor\`)`,
    "",
    `At ${RATE} calls/s, uniform arrivals, p50. "Adds": decision p50 − direct single-row ModelInfer p50 to the same system's worker. Echo chain: ${CHAIN_DEPTH} bare grpc-js processes over mutual TLS, head p50 − tail p50, measured in the same run. Server CPU: every server process, nats-server included.`,
    "",
    "| system | direct ModelInfer p50 ms | decision p50 ms | decision adds ms (runs) | echo chain adds ms (runs) | adds ÷ chain | server CPU µs per decision at 50/s | target |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
    latencyRow(r.mesh, "≤ 1.2× the chain"),
    mono ? latencyRow(mono, "adds ≤ 1.0 ms") : "| monolithic: not available | | | | | | | adds ≤ 1.0 ms |",
    "",
    "| figure | value | ÷ baseline | target |",
    "|---|---:|---:|---|",
    `| baseline: throughput at p99 ≤ ${P99_TARGET_MS} ms, Poisson, req/s (runs) | ${f(median(baseWithin))} (${runsOf(baseWithin, 0)}) | | |`,
    ...throughputRows(r.mesh, r.baseline, "≥ 2× today's 400–1,000 req/s", "≤ 3×"),
    ...(mono ? throughputRows(mono, r.baseline, "≥ 0.8", "") : ["| monolithic: not available | | | ≥ 0.8 |"]),
  ];
}
