import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { FeatureService } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { PROJECT_ROOT, type InstanceName, type Mesh } from "../../deploy/local/mesh.js";
import { specHash } from "../../services/lib/model/index.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { MODEL, inputRows, spec, vectors } from "./bench-model.js";
import { startBenchMesh, type BenchSystem } from "./bench-systems.js";
import { processCpuMs, threadCpuMs } from "./machine.js";
import { openLoop, quantile } from "./open-loop.js";
import { STAGES, summarise, type CpuProfile } from "./profile-summary.js";

/**
 * Where a decision's time goes: the mesh (everything on) with every service under `--cpu-prof`
 * (SCOREMESH_NODE_ARGS), then
 *  1. each hop called directly at 50 calls/s (uniform), p50: worker ModelInfer, router Route, feature ScoreRows,
 *     validator Score (each includes every hop behind it);
 *  2. public decisions at 50 and at 1,000 requests/s (Poisson): each process's CPU per decision, main thread and
 *     other threads (/proc/<pid>/task), and the main thread's profile samples within the phase by stage.
 * Run: npm run build && node dist/test/bench/hop-profile.js [--quick] [--monolithic] [--keep DIR]
 * (`--monolithic`: the one-process mode; `--keep`: keeps the .cpuprofile files)
 * Prints markdown; writes test/bench/results/hop-profile.json.
 */
const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const KEEP = argv.includes("--keep") ? argv[argv.indexOf("--keep") + 1] : undefined;
const MONOLITHIC = argv.includes("--monolithic");
const PHASES = QUICK
  ? [
      { rate: 50, seconds: 6 },
      { rate: 1000, seconds: 3 },
    ]
  : [
      { rate: 50, seconds: 30 },
      { rate: 1000, seconds: 10 },
    ];
const log = (s: string) => process.stderr.write(`${s}\n`);
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

function hopCalls(mesh: Mesh, sys: BenchSystem): [string, (i: number) => Promise<unknown>][] {
  const t = (k: string, who: InstanceName) =>
    createGrpcTransport({ address: mesh.env[k]!, credentials: mesh.credentials(who) });
  const router = createClient(RouterService, t("ROUTER_ADDR", "router"));
  const feature = createClient(FeatureService, t("FEATURE_ADDR", "feature"));
  const hash = specHash(spec);
  return [
    ["worker ModelInfer (single row, raw FP32)", sys.infer!],
    [
      "router Route (+ worker; reasons, monitor record)",
      (i) =>
        router.route({
          model: MODEL,
          featureSpecHash: hash,
          rows: [{ requestId: `r${i}`, features: Array.from(vectors[i % vectors.length]!) }],
        }),
    ],
    [
      "feature ScoreRows (+ router + worker)",
      (i) =>
        feature.scoreRows({ model: MODEL, rows: [{ requestId: `r${i}`, inputs: inputRows[i % inputRows.length]! }] }),
    ],
    ["validator Score, the public edge (+ all)", sys.score],
  ];
}

async function hopLatency(mesh: Mesh, sys: BenchSystem): Promise<string[]> {
  const out = [
    "| hop, called directly (and everything behind it) | p50 ms at 50/s | this hop adds, ms |",
    "|---|---:|---:|",
  ];
  let below = 0;
  for (const [name, call] of hopCalls(mesh, sys)) {
    await openLoop(call, 200, 1, "uniform");
    const p50 = quantile((await openLoop(call, 50, QUICK ? 2 : 4, "uniform")).lat, 0.5);
    out.push(`| ${name} | ${p50.toFixed(2)} | ${below ? (p50 - below).toFixed(2) : ""} |`);
    below = p50;
  }
  return out;
}

interface Phase {
  rate: number;
  from: number;
  to: number;
  decisions: number;
  cpu: Map<string, { total: number; main: number; others: number }>;
}

async function phase(sys: BenchSystem, rate: number, seconds: number): Promise<Phase> {
  const before = new Map([...sys.pids].map(([n, pid]) => [n, { total: processCpuMs(pid), ...threadCpuMs(pid) }]));
  const from = nowUs();
  const r = await openLoop(sys.score, rate, seconds, "poisson");
  const to = nowUs();
  const cpu = new Map(
    [...sys.pids].map(([n, pid]) => {
      const b = before.get(n)!;
      const t = threadCpuMs(pid);
      return [n, { total: processCpuMs(pid) - b.total, main: t.main - b.main, others: t.others - b.others }];
    }),
  );
  log(
    `  ${rate}/s: ${r.lat.length} decisions, p50 ${quantile(r.lat, 0.5).toFixed(1)} ms, p99 ${quantile(r.lat, 0.99).toFixed(1)} ms, errors ${r.errors}`,
  );
  return { rate, from, to, decisions: r.lat.length, cpu };
}

/** Profiles by process name, from the files `--cpu-prof` wrote (CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile). */
function profiles(dir: string, pids: Map<string, number>): Map<string, CpuProfile> {
  const byPid = new Map([...pids].map(([n, p]) => [p, n]));
  const out = new Map<string, CpuProfile>();
  for (const f of readdirSync(dir)) {
    const name = byPid.get(Number(f.split(".")[3]));
    if (name) out.set(name, JSON.parse(readFileSync(join(dir, f), "utf8")) as CpuProfile);
  }
  return out;
}

const us = (x: number) => x.toFixed(0);

function cpuTable(phases: Phase[]): string[] {
  const out = [
    "| rate | process | CPU µs per decision | main thread | other threads (V8 helpers, libuv) |",
    "|---:|---|---:|---:|---:|",
  ];
  for (const p of phases) {
    for (const [n, c] of p.cpu)
      out.push(
        `| ${p.rate}/s | ${n} | ${us((c.total * 1000) / p.decisions)} | ${us((c.main * 1000) / p.decisions)} | ${us((c.others * 1000) / p.decisions)} |`,
      );
    const total = [...p.cpu.values()].reduce((a, c) => a + c.total, 0);
    out.push(`| ${p.rate}/s | **all** | **${us((total * 1000) / p.decisions)}** | | |`);
  }
  return out;
}

/**
 * A profile samples the main thread's wall time while it is not idle, preempted time included; on a loaded
 * machine that exceeds its CPU. Each process's stages are therefore its profile's shares scaled to its main
 * thread's measured CPU (/proc) over the phase.
 */
function scaledStages(p: Phase, profs: Map<string, CpuProfile>): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const [n, prof] of profs) {
    const s = summarise(prof, p.from, p.to);
    const sampled = [...s.values()].reduce((a, b) => a + b, 0);
    const mainUs = ((p.cpu.get(n)?.main ?? 0) * 1000) / p.decisions;
    out.set(n, new Map([...s].map(([k, v]) => [k, sampled ? (v / sampled) * mainUs : 0])));
  }
  return out;
}

function stageTable(phases: Phase[], profs: Map<string, CpuProfile>): string[] {
  const out = [
    `| stage | ${phases.map((p) => `main-thread CPU µs per decision at ${p.rate}/s (share; by process)`).join(" | ")} |`,
    `|---|${phases.map(() => "---").join("|")}|`,
  ];
  const scaled = phases.map((p) => scaledStages(p, profs));
  const totals = scaled.map((m) => [...m.values()].reduce((a, s) => a + [...s.values()].reduce((x, y) => x + y, 0), 0));
  const stages = [
    ...STAGES.map(([s]) => s),
    "node core (event loop, sockets, TLS records, timers)",
    "GC",
    "native, unattributed (program)",
  ];
  const cell = (i: number, stage: string) => {
    const per = [...scaled[i]!].map(([n, m]) => [n, m.get(stage) ?? 0] as const).filter(([, v]) => v >= 0.5);
    const total = per.reduce((a, [, v]) => a + v, 0);
    if (total < 0.5) return "–";
    const parts = per.sort((a, b) => b[1] - a[1]).map(([n, v]) => `${n} ${us(v)}`);
    return `**${us(total)}** (${((100 * total) / totals[i]!).toFixed(1)} %; ${parts.join(", ")})`;
  };
  for (const stage of stages) out.push(`| ${stage} | ${phases.map((_, i) => cell(i, stage)).join(" | ")} |`);
  out.push(`| **main threads, all stages** | ${totals.map((t) => `**${us(t)}**`).join(" | ")} |`);
  return out;
}

async function main(): Promise<void> {
  const dir = KEEP ?? mkdtempSync(join(tmpdir(), "scoremesh-prof-"));
  mkdirSync(dir, { recursive: true });
  process.env["SCOREMESH_NODE_ARGS"] = `--cpu-prof --cpu-prof-dir=${dir} --cpu-prof-interval=250`;
  const sys = (await startBenchMesh(MONOLITHIC))!;
  const phases: Phase[] = [];
  let hops: string[];
  const load0 = loadavg()[0]!;
  try {
    // Warm-up to the steady state: V8 keeps optimizing the services' code for 10–20 s at 200/s (floor.ts).
    await openLoop(sys.score, 200, QUICK ? 3 : 30, "uniform");
    hops = await hopLatency(sys.mesh!, sys);
    for (const p of PHASES) phases.push(await phase(sys, p.rate, p.seconds));
  } finally {
    await sys.stop();
  }
  const profs = profiles(dir, sys.pids);
  const lines = [
    `Load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} (1 min), ${cpus().length} cores; profiles every 250 µs of the main thread of ${[...profs.keys()].join(", ")}.`,
    "",
    ...hops,
    "",
    ...cpuTable(phases),
    "",
    ...stageTable(phases, profs),
  ];
  console.log(lines.join("\n"));
  const results = join(PROJECT_ROOT, "test", "bench", "results");
  mkdirSync(results, { recursive: true });
  writeFileSync(
    join(results, "hop-profile.json"),
    JSON.stringify(
      {
        phases: phases.map((p) => ({ ...p, cpu: Object.fromEntries(p.cpu) })),
        stages: Object.fromEntries(
          phases.map((p) => [
            p.rate,
            Object.fromEntries([...profs].map(([n, pr]) => [n, Object.fromEntries(summarise(pr, p.from, p.to))])),
          ]),
        ),
      },
      null,
      2,
    ),
  );
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
}

await main();
process.exit(0);
