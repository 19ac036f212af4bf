import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HealthProbe } from "../../services/lib/rpc/index.js";
import { startNatsServer, stopProcess, type NatsServer } from "./nats-server.js";
import { freePort } from "./ports.js";

/** The project root (this file is compiled to dist/deploy/local/mesh.js). */
export const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");

export const SERVICES = ["model-worker", "monitor", "router", "feature", "validator"] as const;
export type ServiceName = (typeof SERVICES)[number];
/** One process: a service's first replica has the service's name, further ones `<service>-2`, `<service>-3`, ... */
export type InstanceName = ServiceName | `${ServiceName}-${number}`;

/** The service an instance is a replica of. */
export function serviceOf(instance: InstanceName): ServiceName {
  return SERVICES.find((s) => instance === s || instance.startsWith(`${s}-`) && /^\d+$/.test(instance.slice(s.length + 1)))!;
}

export interface MeshPorts {
  nats: number;
  validatorGrpc: number;
  validatorHttp: number;
  feature: number;
  router: number;
  worker: number;
  monitor: number;
  monitorHttp: number;
}

/** The ports `npm start` uses. */
export const DEFAULT_PORTS: MeshPorts = {
  nats: 4222,
  validatorGrpc: 50051,
  validatorHttp: 8080,
  feature: 50061,
  router: 50071,
  worker: 50081,
  monitor: 50091,
  monitorHttp: 9464,
};

export async function randomPorts(): Promise<MeshPorts> {
  const p: Record<string, number> = {};
  const taken = new Set<number>();
  for (const k of Object.keys(DEFAULT_PORTS)) p[k] = await distinctFreePort(taken);
  return p as unknown as MeshPorts;
}

/**
 * A free port that is not in `taken` (and is then added to it). `freePort` alone may hand out the same port
 * twice, since none is bound until the services start: two services of one mesh then collide (EADDRINUSE).
 */
async function distinctFreePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

export interface MeshOptions {
  ports: MeshPorts;
  /** Where NATS data, logs and the audit log go. */
  stateDir: string;
  modelRepository?: string;
  /** Extra environment for every service (e.g. LOG_LEVEL, OTEL_EXPORTER_OTLP_ENDPOINT). */
  env?: Record<string, string>;
  /** How long to wait for every service to report SERVING. */
  readyTimeoutMs?: number;
  /** Model worker replicas (default 1); every router is given all of them. Extra ones listen on free ports. */
  workers?: number;
  /** Router replicas (default 1). The feature service calls the first; the others share breaker state over NATS. */
  routers?: number;
}

export interface Mesh {
  ports: MeshPorts;
  natsUrl: string;
  /** The environment every service got (addresses, NATS, repository): also what meshctl needs. */
  env: Record<string, string>;
  processes: Map<InstanceName, ChildProcess>;
  /** Every instance, in start order (e.g. model-worker, model-worker-2, monitor, router, router-2, ...). */
  instances: InstanceName[];
  /** The gRPC address an instance listens on. */
  addressOf(instance: InstanceName): string;
  logDir: string;
  /** Starts one service process (again, e.g. after `kill`) and waits until it reports SERVING. */
  startService(name: InstanceName): Promise<void>;
  /**
   * Stops nats-server with `signal` (default SIGTERM; SIGKILL crashes it) and resolves once it has exited. The
   * services keep running and keep trying to reconnect; `startNats` brings it back.
   */
  stopNats(signal?: NodeJS.Signals): Promise<void>;
  /** Starts nats-server again on the same port and store dir (JetStream data persists) once it is ready. */
  startNats(): Promise<void>;
  /** Stops every service (edge first) and then NATS. */
  stop(): Promise<void>;
}

/**
 * Starts one service process from dist/ with this process's environment plus `env`. Extra node flags for every
 * service come from SCOREMESH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile.
 */
export function spawnService(name: ServiceName, env: Record<string, string>, stdio: StdioOptions = ["ignore", "ignore", "inherit"]): ChildProcess {
  const nodeArgs = (process.env["SCOREMESH_NODE_ARGS"] ?? "").split(" ").filter(Boolean);
  return spawn(process.execPath, [...nodeArgs, join(PROJECT_ROOT, "dist", "services", name, "main.js")], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio,
  });
}

/** The environment that wires the five services and NATS together on the given ports. */
export function meshEnv(ports: MeshPorts, natsUrl: string, modelRepository: string, stateDir: string): Record<string, string> {
  const a = (port: number) => `127.0.0.1:${port}`;
  return {
    NATS_URL: natsUrl,
    MODEL_REPOSITORY: modelRepository,
    VALIDATOR_GRPC_ADDR: a(ports.validatorGrpc),
    VALIDATOR_HTTP_ADDR: a(ports.validatorHttp),
    VALIDATOR_FEATURE_ADDR: a(ports.feature),
    FEATURE_ADDR: a(ports.feature),
    FEATURE_ROUTER_ADDR: a(ports.router),
    ROUTER_ADDR: a(ports.router),
    ROUTER_WORKER_ADDRS: a(ports.worker),
    ROUTER_MONITOR_ADDR: a(ports.monitor),
    WORKER_ADDR: a(ports.worker),
    MONITOR_ADDR: a(ports.monitor),
    MONITOR_HTTP_ADDR: a(ports.monitorHttp),
    MONITOR_AUDIT_LOG: join(stateDir, "audit", "decisions.jsonl"),
  };
}

/** The gRPC address whose health says whether a service is up. */
export function healthAddress(name: ServiceName, env: Record<string, string>): string {
  const key = { "model-worker": "WORKER_ADDR", monitor: "MONITOR_ADDR", router: "ROUTER_ADDR", feature: "FEATURE_ADDR", validator: "VALIDATOR_GRPC_ADDR" }[name];
  return env[key]!;
}

/**
 * Starts nats-server and the five services as separate processes (logs in `<stateDir>/logs`) and resolves
 * once every one reports SERVING on grpc.health.v1. Used by `npm start` and by the end-to-end tests.
 */
export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  const logDir = join(opts.stateDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const natsLog = openSync(join(logDir, "nats-server.log"), "a");
  const natsDir = join(opts.stateDir, "nats");
  let nats: NatsServer;
  try {
    nats = await startNatsServer({ port: opts.ports.nats, dir: natsDir, logFile: natsLog });
  } catch (err) {
    closeSync(natsLog);
    throw err;
  }
  const env = { ...meshEnv(opts.ports, nats.url, opts.modelRepository ?? join(PROJECT_ROOT, "models"), opts.stateDir), ...opts.env };
  // Replicas: the first of each service uses the mesh's ports, the others free ports.
  const instances: InstanceName[] = [];
  const instanceEnv = new Map<InstanceName, Record<string, string>>();
  const addrKey = { "model-worker": "WORKER_ADDR", router: "ROUTER_ADDR" } as const;
  const taken = new Set(Object.values(opts.ports) as number[]);
  for (const s of SERVICES) {
    const n = s === "model-worker" ? (opts.workers ?? 1) : s === "router" ? (opts.routers ?? 1) : 1;
    for (let i = 1; i <= n; i++) {
      const name: InstanceName = i === 1 ? s : `${s}-${i}`;
      instances.push(name);
      if (i > 1) instanceEnv.set(name, { [addrKey[s as keyof typeof addrKey]]: `127.0.0.1:${await distinctFreePort(taken)}` });
    }
  }
  const addressOf = (name: InstanceName) => healthAddress(serviceOf(name), { ...env, ...instanceEnv.get(name) });
  env["ROUTER_WORKER_ADDRS"] = instances.filter((i) => serviceOf(i) === "model-worker").map(addressOf).join(",");
  const processes = new Map<InstanceName, ChildProcess>();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;

  const startService = async (name: InstanceName) => {
    const log = openSync(join(logDir, `${name}.log`), "a");
    const child = spawnService(serviceOf(name), { ...env, ...instanceEnv.get(name) }, ["ignore", log, log]);
    closeSync(log);
    processes.set(name, child);
    await waitServing(name, addressOf(name), child, join(logDir, `${name}.log`), readyTimeoutMs);
  };

  const stop = async () => {
    for (const name of [...instances].reverse()) {
      const p = processes.get(name);
      if (p) await stopProcess(p, 15_000);
    }
    await nats.stop();
    closeSync(natsLog);
  };

  try {
    // Start everything at once; each service reports SERVING when its own dependencies are up.
    await Promise.all(instances.map((s) => startService(s)));
  } catch (err) {
    await stop();
    throw err;
  }
  const stopNats = (signal: NodeJS.Signals = "SIGTERM") => nats.kill(signal);
  const startNats = async () => {
    if (nats.process.exitCode === null && nats.process.signalCode === null) throw new Error("nats-server is still running: stopNats first");
    nats = await startNatsServer({ port: opts.ports.nats, dir: natsDir, logFile: natsLog });
  };
  return { ports: opts.ports, natsUrl: nats.url, env, processes, instances, addressOf, logDir, startService, stopNats, startNats, stop };
}

async function waitServing(name: string, address: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const probe = new HealthProbe(address);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was serving; its log:\n${tail(logFile)}`);
      }
      if ((await probe.check("", 500)) === "SERVING") return;
      if (Date.now() > deadline) throw new Error(`${name} did not report SERVING within ${timeoutMs} ms; its log:\n${tail(logFile)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    probe.close();
  }
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
