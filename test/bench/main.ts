/**
 * `npm run bench`: what the model worker and the mesh deliver on this machine, in one run (about 10 minutes).
 *
 *  1. In-process limit: ONNX Runtime alone, rows/s at batch 1, 64 and 256.
 *  2. The worker alone over gRPC, single-row ModelInfer (raw FP32, as the router sends), closed loop at 1, 16
 *     and 128 callers, with dynamic batching on and off; the worker's CPU per call and its mean batch size
 *     (from ModelStatistics).
 *  3. The whole mesh from the public gRPC edge, open loop at fixed arrival rates, Poisson and uniform, so that
 *     queueing delay is counted (latency runs from each request's scheduled send time, not from when the
 *     client got round to it); batching on (the default) and, Poisson only, batching off on every hop (validator,
 *     feature, router, worker).
 *  4. The baseline: one grpc-js process that validates, builds features and runs ONNX Runtime per request
 *     (test/bench/baseline-server.ts), driven by the same open-loop load.
 *
 * The load generator runs in this process, on the same 2 cores as the system under test; its CPU is reported.
 * Each phase first waits for a quiet machine and records the CPU the rest of the machine used ("other").
 * Prints markdown tables and ratios; writes test/bench/results/bench.json and test/bench/results/latency.svg.
 *
 *  5. The latency floor and issue 15's targets (test/bench/floor.ts): what a decision adds at 50 calls/s over a
 *     direct ModelInfer against a bare mTLS grpc-js echo chain of the same depth, throughput at p99 ≤ 50 ms and
 *     server CPU per decision, each the median of three runs, for the mesh, the baseline and the monolithic mode.
 *
 * Options: --quick (short phases, fewer rates: a smoke run), --seconds N (per phase of 2–4, default 3), --only
 * SECTIONS (inproc,worker,mesh,baseline,floor), --plain (the mesh with plaintext hops and no API keys, labelled "mesh, plain":
 * what mutual TLS and API keys cost is the difference from a default run).
 */
import { type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT, randomPorts, spawnService, startMesh, type Mesh } from "../../deploy/local/mesh.js";
import { bootstrapControl } from "../../deploy/local/control-bootstrap.js";
import { ensureMeshKeys, serviceNatsEnv, type MeshKeys } from "../../deploy/local/nats-identities.js";
import { startNatsServer, stopProcess, type NatsServer } from "../../deploy/local/nats-server.js";
import { freePort } from "../../deploy/local/ports.js";
import { copyFloats } from "../../services/lib/model/index.js";
import { HealthProbe, createGrpcTransport, withBearer, type ClosableTransport } from "../../services/lib/rpc/index.js";
import { WorkerBatcher } from "../../services/router/workers/worker-batcher.js";
import { testTls, type TestTls } from "../support/tls.js";
import { CpuWindow, waitForQuiet } from "./machine.js";
import { startBaseline } from "./bench-systems.js";
import { floorReport, runFloor } from "./floor.js";
import { MODEL, VERSION, cols, inputRows, repo, vectors } from "./bench-model.js";
import { openLoop, quantile, type Arrival } from "./open-loop.js";

const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const SECONDS = Number(argv[argv.indexOf("--seconds") + 1]) || (QUICK ? 1 : 3);
/** Sections to run (default all): --only inproc,worker,mesh,baseline */
/** The mesh without mutual TLS and API keys (TLS_MODE=off, VALIDATOR_AUTH=off), to price them. */
const PLAIN = argv.includes("--plain");
const ONLY = argv.includes("--only") ? new Set((argv[argv.indexOf("--only") + 1] ?? "").split(",")) : undefined;
const runs = (section: string) => !ONLY || ONLY.has(section);
/** A phase during which the rest of the machine used more than this many cores is run again (twice at most). */
const MAX_OTHER_CORES = 0.15;
const RATES = QUICK ? [200, 800, 1600] : [100, 200, 400, 700, 1000, 1400, 1800, 2400, 3000, 4000, 5000];
const CALLERS = [1, 16, 128];
const P99_TARGET_MS = 50;

const f = (x: number, d = 0) =>
  Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "–";
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------------------
// 1. ONNX Runtime in process

interface InProcessResult {
  batch: number;
  rowsPerSec: number;
  usPerRun: number;
}

async function inProcess(): Promise<InProcessResult[]> {
  const session = await ort.InferenceSession.create(repo.onnxPath(MODEL, VERSION), {
    executionProviders: ["cpu"],
    intraOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const out: InProcessResult[] = [];
  for (const batch of [1, 64, 256]) {
    const data = new Float32Array(batch * cols);
    for (let i = 0; i < batch; i++) data.set(vectors[i % vectors.length]!, i * cols);
    const feeds = { features: new ort.Tensor("float32", data, [batch, cols]) };
    for (let i = 0; i < 200; i++) await session.run(feeds);
    await waitForQuiet();
    let runs = 0;
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    while (performance.now() < end) {
      await session.run(feeds);
      runs++;
    }
    const s = (performance.now() - t0) / 1000;
    out.push({ batch, rowsPerSec: (runs * batch) / s, usPerRun: (s * 1e6) / runs });
    log(`  in-process batch ${batch}: ${f((runs * batch) / s)} rows/s`);
  }
  await session.release();
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// 2. The worker alone

/** "off": no batching; "worker": the worker's dynamic batcher; "worker + hop": callers' rows also gathered into one ModelInfer per batch on the client side, as the router does. */
type BatchingMode = "off" | "worker" | "worker + hop";

interface ClosedLoopResult {
  batching: BatchingMode;
  callers: number;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  workerCpuUsPerCall: number;
  clientCpuUsPerCall: number;
  meanBatchRows: number;
  otherCores: number | null;
}

async function waitServing(address: string, child: ChildProcess, what: string, tls: TestTls): Promise<void> {
  const probe = new HealthProbe(address, tls.credentials);
  try {
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
      if ((await probe.check("", 500)) === "SERVING") return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what} did not report SERVING within 30 s`);
  } finally {
    probe.close();
  }
}

async function workerAlone(
  nats: NatsServer,
  keys: MeshKeys,
  mode: BatchingMode,
  tls: TestTls,
): Promise<ClosedLoopResult[]> {
  const batching = mode !== "off";
  const address = `127.0.0.1:${await freePort()}`;
  const child = spawnService("model-worker", {
    ...tls.env,
    ...tls.serviceEnv("model-worker"),
    WORKER_ADDR: address,
    NATS_URL: nats.url,
    ...serviceNatsEnv(keys, "model-worker"),
    SCOREMESH_TRUSTED_OPERATORS_FILE: keys.trustedOperatorsFile,
    MODEL_REPOSITORY: join(PROJECT_ROOT, "models"),
    WORKER_MODELS: MODEL,
    WORKER_BATCHING: batching ? "on" : "off",
    LOG_LEVEL: "warn",
  });
  const transport = createGrpcTransport({ address, credentials: tls.credentials });
  const worker = createClient(GRPCInferenceService, transport);
  const out: ClosedLoopResult[] = [];
  try {
    await waitServing(address, child, "model worker", tls);
    const raw = vectors.map((v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    let next = 0;
    const card = repo.card(MODEL, VERSION);
    const hop = new WorkerBatcher((c) =>
      worker
        .modelInfer(
          {
            modelName: c.model,
            modelVersion: c.version,
            inputs: [{ name: "features", datatype: "FP32", shape: [BigInt(c.rows), BigInt(cols)] }],
            rawInputContents: [new Uint8Array(c.matrix.buffer, c.matrix.byteOffset, c.matrix.byteLength)],
          },
          { timeoutMs: c.timeoutMs },
        )
        .then((res) => copyFloats(res.rawOutputContents[0]!, c.rows)),
    );
    const call =
      mode === "worker + hop"
        ? () => hop.score(MODEL, VERSION, card, vectors[next++ % vectors.length]!, 1, { timeoutMs: 5000 })
        : () =>
            worker.modelInfer(
              {
                modelName: MODEL,
                modelVersion: VERSION,
                inputs: [{ name: "features", datatype: "FP32", shape: [1n, BigInt(cols)] }],
                rawInputContents: [raw[next++ % raw.length]!],
              },
              { timeoutMs: 5000 },
            );
    const stats = async () => {
      const s = (await worker.modelStatistics({ name: MODEL, version: VERSION })).modelStats[0];
      return { rows: Number(s?.inferenceCount ?? 0n), execs: Number(s?.executionCount ?? 0n) };
    };
    for (const callers of CALLERS) {
      await closedLoop(call, callers, 0.5); // warm-up: opens connections, JIT
      let best: ClosedLoopResult | undefined;
      for (let attempt = 0; attempt < 3 && !(best && (best.otherCores ?? 0) <= MAX_OTHER_CORES); attempt++) {
        await waitForQuiet();
        const s0 = await stats();
        const cpu = new CpuWindow(
          new Map([
            ["worker", child.pid!],
            ["client", process.pid],
          ]),
        );
        const r = await closedLoop(call, callers, SECONDS);
        const c = cpu.close();
        const s1 = await stats();
        const res: ClosedLoopResult = {
          batching: mode,
          callers,
          callsPerSec: r.calls / r.seconds,
          p50Ms: quantile(r.lat, 0.5),
          p99Ms: quantile(r.lat, 0.99),
          errors: r.errors,
          workerCpuUsPerCall: ((c.byProcess["worker"] ?? 0) * 1000) / r.calls,
          clientCpuUsPerCall: ((c.byProcess["client"] ?? 0) * 1000) / r.calls,
          meanBatchRows: (s1.rows - s0.rows) / Math.max(1, s1.execs - s0.execs),
          otherCores: c.otherCores,
        };
        log(
          `  worker batching ${mode}, ${callers} callers: ${f(r.calls / r.seconds)} calls/s (other cores ${f(c.otherCores ?? NaN, 2)})`,
        );
        if (!best || (res.otherCores ?? 0) < (best.otherCores ?? 0)) best = res;
      }
      out.push(best!);
    }
  } finally {
    transport.close();
    await stopProcess(child, 10_000);
  }
  return out;
}

async function closedLoop(
  call: () => Promise<unknown>,
  callers: number,
  seconds: number,
): Promise<{ calls: number; errors: number; seconds: number; lat: number[] }> {
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        try {
          await call();
          lat.push(performance.now() - s);
        } catch {
          errors++;
        }
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { calls: lat.length, errors, seconds: (performance.now() - t0) / 1000, lat };
}

// ---------------------------------------------------------------------------------------------------------
// 3 and 4. Open loop against the public API (the mesh, or the baseline)

interface OpenLoopResult {
  system: string;
  arrival: Arrival;
  offeredPerSec: number;
  achievedPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
  /** Requests not sent because too many were outstanding (the client's own limit). */
  dropped: number;
  cpuUsPerRequest: Record<string, number>;
  /** µs per request each process's event loop spent runnable but waiting for a core (CPU oversubscription). */
  runQueueWaitUsPerRequest: Record<string, number>;
  otherCores: number | null;
}

async function openLoopSeries(
  system: string,
  send: (i: number) => Promise<unknown>,
  pids: Map<string, number>,
  arrival: Arrival,
): Promise<OpenLoopResult[]> {
  const out: OpenLoopResult[] = [];
  // Warm-up: JIT, connections, the routers' and workers' first batches (a fresh mesh is slower for a few seconds).
  await openLoop(send, 400, QUICK ? 1 : 3, "uniform");
  for (const rate of RATES) {
    let res: OpenLoopResult | undefined;
    for (let attempt = 0; attempt < 3 && !(res && (res.otherCores ?? 0) <= MAX_OTHER_CORES); attempt++) {
      await waitForQuiet();
      const cpu = new CpuWindow(pids);
      const r = await openLoop(send, rate, SECONDS, arrival);
      const c = cpu.close();
      const done = r.lat.length;
      const attemptRes: OpenLoopResult = {
        system,
        arrival,
        offeredPerSec: rate,
        achievedPerSec: done / r.elapsed,
        p50Ms: quantile(r.lat, 0.5),
        p95Ms: quantile(r.lat, 0.95),
        p99Ms: quantile(r.lat, 0.99),
        p999Ms: quantile(r.lat, 0.999),
        errors: r.errors,
        dropped: r.dropped,
        cpuUsPerRequest: Object.fromEntries(
          Object.entries(c.byProcess).map(([k, ms]) => [k, (ms * 1000) / Math.max(1, done)]),
        ),
        runQueueWaitUsPerRequest: Object.fromEntries(
          Object.entries(c.runQueueWaitMs).map(([k, ms]) => [k, (ms * 1000) / Math.max(1, done)]),
        ),
        otherCores: c.otherCores,
      };
      log(
        `  ${system} ${arrival} ${rate}/s: ${f(attemptRes.achievedPerSec)}/s, p50 ${f(attemptRes.p50Ms, 1)} ms, p99 ${f(attemptRes.p99Ms, 1)} ms, errors ${r.errors} (other cores ${f(c.otherCores ?? NaN, 2)})`,
      );
      if (!res || (attemptRes.otherCores ?? 0) < (res.otherCores ?? 0)) res = attemptRes;
    }
    out.push(res!);
    // Past saturation: the queue only grows; stop this series.
    if (res!.p99Ms > 2000 || res!.achievedPerSec < 0.8 * rate || res!.errors > 0.05 * rate * SECONDS) break;
  }
  return out;
}

async function meshSeries(batching: boolean, arrivals: Arrival[]): Promise<OpenLoopResult[]> {
  const stateDir = mkdtempSync(join(tmpdir(), "scoremesh-bench-"));
  const env: Record<string, string> = { LOG_LEVEL: "warn", ...(PLAIN ? { VALIDATOR_AUTH: "off" } : {}) };
  if (!batching)
    Object.assign(env, {
      VALIDATOR_BATCHING: "off",
      FEATURE_BATCHING: "off",
      ROUTER_BATCHING: "off",
      WORKER_BATCHING: "off",
    });
  let mesh: Mesh | undefined;
  let transport: ClosableTransport | undefined;
  try {
    mesh = await startMesh({
      ports: await randomPorts(),
      stateDir,
      env,
      readyTimeoutMs: 60_000,
      tls: PLAIN ? "off" : "mtls",
    });
    const edge = createGrpcTransport({
      address: mesh.env["VALIDATOR_GRPC_ADDR"]!,
      credentials: mesh.credentials("validator"),
    });
    transport = mesh.apiKey ? withBearer(edge, mesh.apiKey) : edge;
    const client = createClient(ScoringService, transport);
    const send = (i: number) =>
      client.score({ model: MODEL, inputs: inputRows[i % inputRows.length]! }, { timeoutMs: 5000 });
    const pids = new Map<string, number>([...mesh.processes].map(([n, p]) => [n, p.pid!]));
    pids.set("client", process.pid);
    const out: OpenLoopResult[] = [];
    for (const a of arrivals) out.push(...(await openLoopSeries(meshLabel(batching), send, pids, a)));
    return out;
  } finally {
    transport?.close();
    await mesh?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** "mesh", "mesh, no batching", "mesh, plain", "mesh, plain, no batching". */
function meshLabel(batching: boolean): string {
  return ["mesh", ...(PLAIN ? ["plain"] : []), ...(batching ? [] : ["no batching"])].join(", ");
}

async function baselineSeries(arrivals: Arrival[]): Promise<OpenLoopResult[]> {
  const baseline = await startBaseline();
  try {
    const pids = new Map([...baseline.pids, ["client", process.pid]]);
    const out: OpenLoopResult[] = [];
    for (const a of arrivals) out.push(...(await openLoopSeries("baseline", (i) => baseline.score(i), pids, a)));
    return out;
  } finally {
    await baseline.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report

/**
 * The highest offered rate served with p99 within the target and no errors. (Latency counts from each request's
 * scheduled time, so a p99 within the target means the system kept up with the offered load.)
 */
function bestWithin(rs: OpenLoopResult[], p99Ms = P99_TARGET_MS): number {
  let best = 0;
  for (const r of rs) if (r.p99Ms <= p99Ms && r.errors === 0 && r.dropped === 0) best = Math.max(best, r.offeredPerSec);
  return best;
}

function svg(series: { name: string; color: string; dash?: string; points: [number, number][] }[]): string {
  const W = 760,
    H = 440,
    L = 60,
    R = 190,
    T = 30,
    B = 50;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const xMax = Math.max(100, ...xs);
  const yMin = 0.1,
    yMax = 5000;
  const x = (v: number) => L + ((W - L - R) * v) / xMax;
  const y = (v: number) =>
    T +
    (H - T - B) *
      (1 - (Math.log10(Math.min(yMax, Math.max(yMin, v))) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="13">Latency percentiles against offered load (open loop, ${cpus().length} cores)</text>`,
  ];
  for (const v of [0.1, 1, 10, 50, 100, 1000]) {
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="${v === 50 ? "#c00" : "#ddd"}" stroke-dasharray="${v === 50 ? "4 3" : ""}"/>`,
    );
    parts.push(`<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v} ms</text>`);
  }
  for (let v = 0; v <= xMax; v += xMax > 2000 ? 500 : 200) {
    parts.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="${T}" y2="${H - B}" stroke="#eee"/><text x="${x(v)}" y="${H - B + 16}" text-anchor="middle">${v}</text>`,
    );
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">offered requests/s</text>`);
  series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash ?? ""}"/>`);
    for (const p of s.points)
      parts.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    parts.push(
      `<line x1="${W - R + 12}" x2="${W - R + 36}" y1="${T + 10 + i * 18}" y2="${T + 10 + i * 18}" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash ?? ""}"/>`,
    );
    parts.push(`<text x="${W - R + 42}" y="${T + 14 + i * 18}">${s.name}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  log(
    `scoremesh bench: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, ${SECONDS} s per phase${QUICK ? " (quick)" : ""}`,
  );
  log("1/4 ONNX Runtime in process");
  const inproc = runs("inproc") ? await inProcess() : [];

  log("2/4 the worker alone over gRPC");
  let worker: ClosedLoopResult[] = [];
  if (runs("worker")) {
    const natsDir = mkdtempSync(join(tmpdir(), "scoremesh-bench-nats-"));
    const keys = ensureMeshKeys(natsDir);
    const nats = await startNatsServer({ port: await freePort(), dir: natsDir, configFile: keys.natsConfigFile });
    await bootstrapControl(nats.url, keys, join(PROJECT_ROOT, "models"));
    const tls = testTls(natsDir, ["model-worker"]);
    try {
      worker = [
        ...(await workerAlone(nats, keys, "off", tls)),
        ...(await workerAlone(nats, keys, "worker", tls)),
        ...(await workerAlone(nats, keys, "worker + hop", tls)),
      ];
    } finally {
      await nats.stop();
      rmSync(natsDir, { recursive: true, force: true });
    }
  }

  log("3/4 the mesh, open loop");
  const mesh = runs("mesh") ? await meshSeries(true, ["poisson", "uniform"]) : [];
  const meshOff = runs("mesh") ? await meshSeries(false, ["poisson"]) : [];
  log("4/4 the baseline, open loop");
  const baseline = runs("baseline") ? await baselineSeries(["poisson", "uniform"]) : [];
  log("5/5 the latency floor and issue 15's targets");
  const floor = runs("floor") ? await runFloor({ quick: QUICK, log }) : undefined;

  // Tables
  const lines: string[] = [];
  const p = (s = "") => lines.push(s);
  p(`## scoremesh bench — ${startedAt}`);
  p();
  p(
    `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, onnxruntime-node ${ort.env.versions.common ?? "?"}; model ${MODEL} version ${VERSION}, ${repo.card(MODEL, VERSION).algorithm} (${cols} inputs), the mesh's seeded champion; ${SECONDS} s per phase; load generator in the bench process, on the same cores.`,
  );
  p();
  p("### 1. ONNX Runtime in process");
  p();
  p("| batch | rows/s | µs per run |");
  p("|---:|---:|---:|");
  for (const r of inproc) p(`| ${r.batch} | ${f(r.rowsPerSec)} | ${f(r.usPerRun, 1)} |`);
  p();
  p("### 2. The worker alone, single-row ModelInfer, closed loop");
  p();
  p(
    "| batching | callers | calls/s | p50 ms | p99 ms | mean batch rows | worker CPU µs/call | client CPU µs/call | errors | other cores |",
  );
  p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of worker) {
    p(
      `| ${r.batching} | ${r.callers} | ${f(r.callsPerSec)} | ${f(r.p50Ms, 2)} | ${f(r.p99Ms, 2)} | ${f(r.meanBatchRows, 1)} | ${f(r.workerCpuUsPerCall)} | ${f(r.clientCpuUsPerCall)} | ${r.errors} | ${r.otherCores === null ? "?" : f(r.otherCores, 2)} |`,
    );
  }
  p();
  p("### 3–4. Open loop from the public gRPC API: the mesh and the one-process baseline");
  p();
  p(
    "CPU: user + system CPU of each process per request answered. Waiting: how long each process's event loop was ready to run but had no core, per request (from /proc/<pid>/schedstat): the cost of running many processes on 2 cores.",
  );
  p();
  p(
    "| system | arrivals | offered/s | achieved/s | p50 ms | p95 ms | p99 ms | p99.9 ms | errors | CPU µs per request (by process) | waiting for a core, µs per request | other cores |",
  );
  p("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|");
  for (const r of [...mesh, ...meshOff, ...baseline]) {
    const cpu = Object.entries(r.cpuUsPerRequest)
      .map(([k, v]) => `${k} ${f(v)}`)
      .join(", ");
    const total = Object.entries(r.cpuUsPerRequest)
      .filter(([k]) => k !== "client")
      .reduce((s, [, v]) => s + v, 0);
    const wait = Object.entries(r.runQueueWaitUsPerRequest)
      .map(([k, v]) => `${k} ${f(v)}`)
      .join(", ");
    p(
      `| ${r.system} | ${r.arrival} | ${r.offeredPerSec} | ${f(r.achievedPerSec)} | ${f(r.p50Ms, 2)} | ${f(r.p95Ms, 2)} | ${f(r.p99Ms, 2)} | ${f(r.p999Ms, 2)} | ${r.errors + r.dropped} | server total ${f(total)}: ${cpu} | ${wait} | ${r.otherCores === null ? "?" : f(r.otherCores, 2)} |`,
    );
  }
  p();
  const by = (b: BatchingMode, c: number) => worker.find((r) => r.batching === b && r.callers === c);
  const on128 = by("worker", 128)?.callsPerSec ?? NaN;
  const hop128 = by("worker + hop", 128)?.callsPerSec ?? NaN;
  const off128 = by("off", 128)?.callsPerSec ?? NaN;
  const inproc1 = inproc.find((r) => r.batch === 1)?.rowsPerSec ?? NaN;
  const inproc64 = inproc.find((r) => r.batch === 64)?.rowsPerSec ?? NaN;
  const ratios = {
    meshPoissonWithinP99: bestWithin(mesh.filter((r) => r.arrival === "poisson")),
    meshUniformWithinP99: bestWithin(mesh.filter((r) => r.arrival === "uniform")),
    meshNoBatchingPoissonWithinP99: bestWithin(meshOff),
    baselinePoissonWithinP99: bestWithin(baseline.filter((r) => r.arrival === "poisson")),
    baselineUniformWithinP99: bestWithin(baseline.filter((r) => r.arrival === "uniform")),
    batchingOnOverOff128: on128 / off128,
    hopBatchingOverOff128: hop128 / off128,
    workerOverInProcessBatch1: Math.max(on128, hop128) / inproc1,
    workerOverInProcessBatch64: Math.max(on128, hop128) / inproc64,
  };
  const meshOverBaseline = ratios.meshPoissonWithinP99 / ratios.baselinePoissonWithinP99;
  p("### Ratios");
  p();
  p("| ratio | value | target |");
  p("|---|---:|---:|");
  p(
    `| mesh ÷ baseline throughput at p99 ≤ ${P99_TARGET_MS} ms, Poisson (${f(ratios.meshPoissonWithinP99)} ÷ ${f(ratios.baselinePoissonWithinP99)} req/s) | ${f(meshOverBaseline, 2)} | ≥ 0.5 |`,
  );
  p(
    `| same, uniform arrivals (${f(ratios.meshUniformWithinP99)} ÷ ${f(ratios.baselineUniformWithinP99)} req/s) | ${f(ratios.meshUniformWithinP99 / ratios.baselineUniformWithinP99, 2)} | |`,
  );
  p(
    `| mesh with ÷ without batching at p99 ≤ ${P99_TARGET_MS} ms, Poisson (${f(ratios.meshPoissonWithinP99)} ÷ ${f(ratios.meshNoBatchingPoissonWithinP99)} req/s) | ${f(ratios.meshPoissonWithinP99 / ratios.meshNoBatchingPoissonWithinP99, 2)} | |`,
  );
  p(
    `| worker dynamic batching on ÷ off, single-row calls, 128 callers (${f(on128)} ÷ ${f(off128)} calls/s) | ${f(ratios.batchingOnOverOff128, 2)} | ≥ 3 |`,
  );
  p(
    `| rows gathered across the hop too ÷ no batching, 128 callers (${f(hop128)} ÷ ${f(off128)} rows/s) | ${f(ratios.hopBatchingOverOff128, 2)} | ≥ 3 |`,
  );
  p(
    `| best worker figure, 128 callers, ÷ ONNX Runtime in process at batch 1 | ${f(ratios.workerOverInProcessBatch1, 3)} | |`,
  );
  p(
    `| best worker figure, 128 callers, ÷ ONNX Runtime in process at batch 64 | ${f(ratios.workerOverInProcessBatch64, 4)} | |`,
  );
  p();
  if (floor) {
    for (const l of floorReport(floor)) p(l);
    p();
  }
  p(`Total bench time ${f((performance.now() - t0) / 1000)} s.`);
  const text = lines.join("\n");
  console.log(text);

  const dir = join(PROJECT_ROOT, "test", "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "bench.json"),
    JSON.stringify(
      {
        startedAt,
        node: process.version,
        cores: cpus().length,
        cpu: cpus()[0]?.model,
        secondsPerPhase: SECONDS,
        inProcess: inproc,
        worker,
        openLoop: [...mesh, ...meshOff, ...baseline],
        ratios: { ...ratios, meshOverBaseline },
        floor,
      },
      null,
      2,
    ),
  );
  const pts = (rs: OpenLoopResult[], arrival: Arrival, q: "p50Ms" | "p99Ms") =>
    rs.filter((r) => r.arrival === arrival).map((r) => [r.offeredPerSec, r[q]] as [number, number]);
  writeFileSync(
    join(dir, "latency.svg"),
    svg([
      { name: "mesh p99, Poisson", color: "#1f77b4", points: pts(mesh, "poisson", "p99Ms") },
      { name: "mesh p50, Poisson", color: "#1f77b4", dash: "2 3", points: pts(mesh, "poisson", "p50Ms") },
      { name: "mesh p99, uniform", color: "#17becf", points: pts(mesh, "uniform", "p99Ms") },
      { name: "mesh, no batching, p99", color: "#9467bd", points: pts(meshOff, "poisson", "p99Ms") },
      { name: "baseline p99, Poisson", color: "#ff7f0e", points: pts(baseline, "poisson", "p99Ms") },
      { name: "baseline p50, Poisson", color: "#ff7f0e", dash: "2 3", points: pts(baseline, "poisson", "p50Ms") },
      { name: "baseline p99, uniform", color: "#d62728", points: pts(baseline, "uniform", "p99Ms") },
    ]),
  );
  log(`wrote ${join(dir, "bench.json")} and ${join(dir, "latency.svg")}`);
}

await main();
process.exit(0);
