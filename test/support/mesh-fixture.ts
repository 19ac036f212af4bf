import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { Route, ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import {
  PROJECT_ROOT,
  randomPorts,
  serviceOf,
  startMesh,
  type InstanceName,
  type Mesh,
  type MeshOptions,
} from "../../deploy/local/mesh.js";
import { createGrpcTransport, withBearer, type ClosableTransport } from "../../services/lib/rpc/index.js";
import { creditRows } from "./credit-data.js";

export interface MeshctlRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface MeshFixture {
  mesh: Mesh;
  stateDir: string;
  scoring: Client<typeof ScoringService>;
  monitor: Client<typeof MonitorService>;
  httpBase: string;
  /** The development tenant's API key, which `scoring` and `meshctl` send; undefined with VALIDATOR_AUTH=off. */
  apiKey: string | undefined;
  /** Headers for a fetch to `httpBase`: content-type JSON and the API key. */
  httpHeaders: Record<string, string>;
  /** Runs meshctl against this mesh; resolves with its exit code and output. */
  meshctl(...args: string[]): Promise<MeshctlRun>;
  /** Runs meshctl with `input` on its stdin (e.g. `score --data @-`). */
  meshctlWithInput(input: string, ...args: string[]): Promise<MeshctlRun>;
  /** The JSON lines of an instance's log (pino: `msg`, `time` as ISO text, and the line's fields). */
  logLines(instance: string): Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts a real mesh (nats-server + five processes) on random ports in a temporary folder; `replicas` adds
 * model workers, routers, feature services and validators (e.g. `{ workers: 2, routers: 2 }`). The mesh has the development tenant
 * (deploy/local/dev-tenant.ts), whose key the fixture's clients and meshctl send. `{ monolithic: true }` runs the
 * five services in one process (the same ports and surface; deploy/local/monolith.ts).
 */
export async function startMeshFixture(
  env: Record<string, string> = {},
  replicas: Pick<
    MeshOptions,
    "workers" | "routers" | "features" | "validators" | "natsNodes" | "workerLabels" | "monolithic"
  > = {},
): Promise<MeshFixture> {
  const stateDir = mkdtempSync(join(tmpdir(), "scoremesh-e2e-"));
  const mesh = await startMesh({
    ports: await randomPorts(),
    stateDir,
    env: { LOG_LEVEL: "info", ...env },
    ...replicas,
  });
  const edge = createGrpcTransport({
    address: mesh.env["VALIDATOR_GRPC_ADDR"]!,
    credentials: mesh.credentials("validator"),
  });
  const transports: ClosableTransport[] = [
    mesh.apiKey ? withBearer(edge, mesh.apiKey) : edge,
    createGrpcTransport({ address: mesh.env["MONITOR_ADDR"]!, credentials: mesh.credentials("monitor") }),
  ];
  const fx: MeshFixture = {
    mesh,
    stateDir,
    scoring: createClient(ScoringService, transports[0]!),
    monitor: createClient(MonitorService, transports[1]!),
    httpBase: `http://${mesh.env["VALIDATOR_HTTP_ADDR"]}`,
    apiKey: mesh.apiKey,
    httpHeaders: {
      "content-type": "application/json",
      ...(mesh.apiKey ? { authorization: `Bearer ${mesh.apiKey}` } : {}),
    },
    meshctl: (...args) => runMeshctl(meshctlEnv(mesh), args),
    meshctlWithInput: (input, ...args) => runMeshctl(meshctlEnv(mesh), args, input),
    logLines: (instance) =>
      readFileSync(join(mesh.logDir, mesh.monolithic ? "monolith.log" : `${instance}.log`), "utf8")
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        // Monolithic mode: one log, each line with its service's name.
        .filter((l) => !mesh.monolithic || l["service"] === serviceOf(instance as InstanceName)),
    async close() {
      // A load a failed test never stopped would call a stopped mesh forever and keep the test process alive.
      await Promise.all([...(runningLoads.get(fx) ?? [])].map((stop) => stop()));
      for (const t of transports) t.close();
      await mesh.stop();
      // SCOREMESH_TEST_KEEP_STATE=1 keeps the state directory (NATS data, every service's log) to read after a run.
      if (process.env["SCOREMESH_TEST_KEEP_STATE"] !== "1") rmSync(stateDir, { recursive: true, force: true });
      else console.log(`# state kept in ${stateDir}`);
    },
  };
  return fx;
}

/**
 * The environment meshctl needs for `mesh`: the services' variables, the control identity and the development
 * tenant's key.
 */
export function meshctlEnv(mesh: Mesh): Record<string, string> {
  return { ...mesh.env, ...mesh.controlEnv, ...(mesh.apiKey ? { SCOREMESH_API_KEY: mesh.apiKey } : {}) };
}

/** Runs meshctl with the mesh's environment (and `input` on stdin, if given); killed after 30 s. */
export function runMeshctl(env: Record<string, string>, args: string[], input?: string): Promise<MeshctlRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(PROJECT_ROOT, "dist/tools/meshctl/main.js"), ...args], {
      env: { ...process.env, ...env },
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
    p.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    p.stdin?.end(input);
    const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
    p.once("error", reject);
    p.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/**
 * Breaker settings of the chaos tests: small windows so a dead worker is taken out within a few calls, and health
 * polled only until the workers are up (see DependencyWatch), so that the breakers, not a health poll, take a dead
 * worker out and the tests have no race with a poll.
 */
export const CHAOS_ENV: Record<string, string> = {
  ROUTER_BREAKER_WINDOW: "10",
  ROUTER_BREAKER_MIN_CALLS: "5",
  ROUTER_BREAKER_OPEN_MS: "1000",
  ROUTER_WORKER_HEALTH_INTERVAL_MS: "600000",
};

/**
 * Waits for one router to open the breaker of `target` and for the other to adopt that transition (their log
 * lines). Both routers take load, so either may open it first; when both open it on their own at once, the later
 * transition wins the merge and is the one adopted. `propagationMs` runs from the transition's time on the opener
 * to the adopter's log line.
 */
export async function breakerAdoption(fx: MeshFixture, target: string) {
  const adoption = (opener: "router" | "router-2") => {
    const adopter = opener === "router" ? "router-2" : "router";
    const opened = fx.logLines(opener).find((x) => x["msg"] === "circuit breaker opened" && x["target"] === target);
    const adopted =
      opened &&
      fx
        .logLines(adopter)
        .find(
          (x) =>
            x["msg"] === "circuit breaker opened by another replica: adopted" &&
            x["target"] === target &&
            x["epoch"] === opened["epoch"],
        );
    if (!opened || !adopted) return undefined;
    const propagationMs = Date.parse(adopted["time"] as string) - (opened["at"] as number);
    return { opener, adopter, opened, adopted, propagationMs };
  };
  return waitFor(
    "a router to open the breaker of the killed worker and the other to adopt it",
    () => adoption("router") ?? adoption("router-2"),
    15_000,
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 50 ms until it returns something other than undefined; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** What a load's call reports of its answer (a ScoreResponse and the router's RowDecision both have these). */
export interface LoadAnswer {
  route: Route;
  degraded: boolean;
  modelVersion: string;
}

export interface LoadStats {
  ok: number;
  /** One line per failed call: its gRPC code and message. */
  failed: string[];
  routes: Map<string, number>;
  versions: Map<string, number>;
  degraded: number;
  maxMs: number;
  /** When (performance.now()) the first answer from the champion (route PRIMARY) came. */
  firstPrimaryAt: number;
  /** Answers from the champion, or not degraded, among calls started after `expectDegradedFromNow`. */
  nonPrimaryAfter: number;
  /** Every answered call: when it started (performance.now()), how long it took (ms) and the version that answered. */
  calls: { at: number; ms: number; modelVersion: string }[];
}

/**
 * Steady load for chaos tests: `callers` clients calling in a loop, one call at a time each, until `stop()`;
 * every outcome and every answered call's latency recorded. By default a call is a public `Score` of the next
 * credit row through the validator; `call` replaces it (e.g. to load one router replica directly).
 *
 * @example
 * const l = load(fx);
 * await sleep(2000);
 * const s = await l.stop();
 * assert.deepEqual(s.failed, []);
 */
export function load(
  fx: MeshFixture,
  opts: {
    callers?: number;
    model?: string;
    timeoutMs?: number;
    call?: (inputs: Record<string, number>, timeoutMs: number) => Promise<LoadAnswer>;
  } = {},
) {
  const { callers = 4, model = "credit-default", timeoutMs = 2000 } = opts;
  const call = opts.call ?? ((inputs, deadlineMs) => fx.scoring.score({ model, inputs }, { timeoutMs: deadlineMs }));
  const rows = creditRows(64);
  const s: LoadStats = {
    ok: 0,
    failed: [],
    routes: new Map(),
    versions: new Map(),
    degraded: 0,
    maxMs: 0,
    firstPrimaryAt: 0,
    nonPrimaryAfter: 0,
    calls: [],
  };
  let stop = false;
  let checkFrom = Infinity;
  const run = async (k: number) => {
    for (let i = k; !stop; i += callers) {
      const t0 = performance.now();
      try {
        const res = await call(rows[i % rows.length]!, timeoutMs);
        const ms = performance.now() - t0;
        s.ok++;
        s.calls.push({ at: t0, ms, modelVersion: res.modelVersion });
        const name = Route[res.route] ?? String(res.route);
        s.routes.set(name, (s.routes.get(name) ?? 0) + 1);
        s.versions.set(res.modelVersion, (s.versions.get(res.modelVersion) ?? 0) + 1);
        if (res.degraded) s.degraded++;
        if (res.route === Route.PRIMARY && !s.firstPrimaryAt) s.firstPrimaryAt = performance.now();
        if (t0 >= checkFrom && (res.route === Route.PRIMARY || !res.degraded)) s.nonPrimaryAfter++;
      } catch (err) {
        s.failed.push(`${Code[ConnectError.from(err).code]}: ${ConnectError.from(err).rawMessage}`);
        await sleep(20);
      }
      s.maxMs = Math.max(s.maxMs, performance.now() - t0);
    }
  };
  const all = Array.from({ length: callers }, (_, k) => run(k));
  const stopAll = async () => {
    stop = true;
    await Promise.all(all);
  };
  if (!runningLoads.has(fx)) runningLoads.set(fx, new Set());
  runningLoads.get(fx)!.add(stopAll);
  return {
    stats: s,
    /** From now on every call must be degraded (not primary); counted in nonPrimaryAfter otherwise. */
    expectDegradedFromNow: () => (checkFrom = performance.now()),
    stop: async () => {
      runningLoads.get(fx)?.delete(stopAll);
      await stopAll();
      return s;
    },
  };
}

/** The loads of each fixture not stopped yet: its close() stops them. */
const runningLoads = new WeakMap<MeshFixture, Set<() => Promise<void>>>();

/** One line of a load's outcome for the test's output. */
export function loadSummary(s: LoadStats): string {
  return (
    `${s.ok} answered, ${s.failed.length} failed, routes ${JSON.stringify(Object.fromEntries(s.routes))}, ` +
    `versions ${JSON.stringify(Object.fromEntries(s.versions))}, degraded ${s.degraded}, slowest ${s.maxMs.toFixed(0)} ms`
  );
}

/** The latency quantile `q` (0..1, nearest rank) of the calls that started in [from, to) (performance.now() times). */
export function latencyQuantile(s: LoadStats, q: number, from: number, to: number): { ms: number; calls: number } {
  const ms = s.calls
    .filter((c) => c.at >= from && c.at < to)
    .map((c) => c.ms)
    .sort((a, b) => a - b);
  if (ms.length === 0) return { ms: NaN, calls: 0 };
  return { ms: ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)]!, calls: ms.length };
}
