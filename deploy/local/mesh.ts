import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { EnvReader, readEdgeCredentials, readTlsConfig } from "../../services/lib/service/index.js";
import { devTlsEnv } from "./dev-certs.js";
import type { PolicyBootstrap } from "../../services/lib/nats/index.js";
import { bootstrapControl } from "./control-bootstrap.js";
import { controlEnv, ensureMeshKeys, serviceNatsEnv, type MeshKeys } from "./nats-identities.js";
import { ensureDevTenant } from "./dev-tenant.js";
import { auditInstanceEnv, ensureDevAuditKey } from "./dev-audit-key.js";
import { startNatsServer, stopProcess, type NatsServer } from "./nats-server.js";
import { clusterAsServer, startNatsCluster } from "./nats-cluster.js";
import { setBucketReplicas } from "../../services/lib/nats/index.js";
import { freePort, portInUse, portOwner } from "./ports.js";
import { logSize, NotServingError, summary, waitServing, type StartingInstance } from "./readiness.js";
import { Supervisor, type SupervisorOptions } from "./supervisor.js";
import { MONOLITH_LOG, MonolithProcess } from "./monolith.js";

/** The project root (this file is compiled to dist/deploy/local/mesh.js). */
export const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");

export const SERVICES = ["model-worker", "monitor", "router", "feature", "validator"] as const;
export type ServiceName = (typeof SERVICES)[number];
/** One process: a service's first replica has the service's name, further ones `<service>-2`, `<service>-3`, ... */
export type InstanceName = ServiceName | `${ServiceName}-${number}`;

/** The service an instance is a replica of. */
export function serviceOf(instance: InstanceName): ServiceName {
  return SERVICES.find(
    (s) => instance === s || (instance.startsWith(`${s}-`) && /^\d+$/.test(instance.slice(s.length + 1))),
  )!;
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
  /** WORKER_LABELS of each worker in turn (the first worker gets the first); absent or short: derived labels. */
  workerLabels?: string[];
  /**
   * Router replicas (default 1): feature services balance over all of them (an `ipv4:` target, round-robin);
   * they share breaker state over NATS.
   */
  routers?: number;
  /** Feature service replicas (default 1): validators balance over all of them. */
  features?: number;
  /**
   * nats-server nodes (default 1). With 3, a JetStream cluster on loopback (the first node on the NATS port, the
   * others on free ports) and every KV bucket kept on 3 nodes (NATS_REPLICAS=3).
   */
  natsNodes?: number;
  /** Validator replicas (default 1). Extra ones listen on free gRPC and HTTP ports; all share tenant limits over NATS. */
  validators?: number;
  /**
   * Restart a service process that crashes, with backoff, and report it (what `npm start` does). Off by default:
   * the tests kill processes on purpose and expect them to stay down.
   */
  supervise?: SupervisorOptions;
  /**
   * `mtls` (the default): development certificates under `<stateDir>/tls/` (made once), every service on mutual
   * TLS; `off`: plaintext (TLS_MODE=off).
   */
  tls?: "mtls" | "off";
  /**
   * Monolithic mode (`npm start -- --monolithic`): the five services in one process (services/monolith), the hops
   * in process, the same ports, identities and health as the default mode. One of each service only.
   */
  monolithic?: boolean;
}

export interface Mesh {
  ports: MeshPorts;
  natsUrl: string;
  /** Every nats-server node (one unless `natsNodes` asked for a cluster), e.g. to kill one in a test. */
  natsNodes: NatsServer[];
  /** The environment every service got (addresses, NATS, repository): also what meshctl needs. */
  env: Record<string, string>;
  /**
   * The development tenant's API key (also in `<stateDir>/dev-api-key`); undefined when the tenant was revoked
   * or the validators run with VALIDATOR_AUTH=off.
   */
  apiKey: string | undefined;
  /** Each instance's process (in monolithic mode the one process, under every service's name). */
  processes: Map<InstanceName, ChildProcess>;
  /** The five services run in one process (MeshOptions.monolithic). */
  monolithic: boolean;
  /** Every instance, in start order (e.g. model-worker, model-worker-2, monitor, router, router-2, ...). */
  instances: InstanceName[];
  /** The gRPC address an instance listens on. */
  addressOf(instance: InstanceName): string;
  /** The environment an instance gets: `env`, its own certificate and NATS identity, a replica's own addresses. */
  envOf(instance: InstanceName): Record<string, string>;
  /** How to dial an instance: the client certificate (TLS_* in `env`), or the validator's public edge. */
  credentials(instance: InstanceName): ChannelCredentials;
  /** Where an instance serves Prometheus metrics: its own free port (<PREFIX>_METRICS_ADDR, not in envOf); the monitor's page. */
  metricsUrlOf(instance: InstanceName): string;
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
  /** The NATS identities, operator keys and trusted operators in the state folder (nats-identities.ts). */
  keys: MeshKeys;
  /** What meshctl needs on top of `env`: the control identity and the local operator's signing key. */
  controlEnv: Record<string, string>;
  /** What the control side did with each model's serving policy at start (seeded, re-signed, ...). */
  policyBootstrap: PolicyBootstrap[];
}

/**
 * Starts one service process from dist/ with this process's environment plus `env`. Extra node flags for every
 * service come from SCOREMESH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile.
 */
export function spawnService(
  name: ServiceName,
  env: Record<string, string>,
  stdio: StdioOptions = ["ignore", "ignore", "inherit"],
): ChildProcess {
  const nodeArgs = (process.env["SCOREMESH_NODE_ARGS"] ?? "").split(" ").filter(Boolean);
  return spawn(process.execPath, [...nodeArgs, join(PROJECT_ROOT, "dist", "services", name, "main.js")], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio,
  });
}

/** The environment that wires the five services and NATS together on the given ports. */
export function meshEnv(
  ports: MeshPorts,
  natsUrl: string,
  modelRepository: string,
  stateDir: string,
): Record<string, string> {
  const a = (port: number) => `127.0.0.1:${port}`;
  return {
    NATS_URL: natsUrl,
    MODEL_REPOSITORY: modelRepository,
    VALIDATOR_GRPC_ADDR: a(ports.validatorGrpc),
    VALIDATOR_HTTP_ADDR: a(ports.validatorHttp),
    VALIDATOR_FEATURE_ADDR: a(ports.feature),
    VALIDATOR_MONITOR_ADDR: a(ports.monitor),
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
  const key = {
    "model-worker": "WORKER_ADDR",
    monitor: "MONITOR_ADDR",
    router: "ROUTER_ADDR",
    feature: "FEATURE_ADDR",
    validator: "VALIDATOR_GRPC_ADDR",
  }[name];
  return env[key]!;
}

/** Ports of a mesh that something else already listens on. */
export class PortsInUseError extends Error {
  override name = "PortsInUseError";
  constructor(readonly inUse: { key: keyof MeshPorts; port: number; owner?: string }[]) {
    super(
      "cannot start the mesh: " +
        inUse.map((p) => `port ${p.port} (${p.key}) is in use${p.owner ? ` by ${p.owner}` : ""}`).join("; "),
    );
  }
}

/** Fails with PortsInUseError, naming each port and its owner where known, when any of `ports` is taken. */
export async function checkPortsFree(ports: MeshPorts): Promise<void> {
  const inUse: PortsInUseError["inUse"] = [];
  for (const [key, port] of Object.entries(ports) as [keyof MeshPorts, number][]) {
    if (await portInUse(port)) inUse.push({ key, port, ...optionalOwner(port) });
  }
  if (inUse.length > 0) throw new PortsInUseError(inUse);
}

function optionalOwner(port: number): { owner?: string } {
  const owner = portOwner(port);
  return owner ? { owner } : {};
}

/**
 * Starts nats-server and the five services as separate processes (logs in `<stateDir>/logs`) and resolves
 * once every one reports SERVING on grpc.health.v1. Used by `npm start` and by the end-to-end tests.
 */
export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  checkMonolithic(opts);
  // Before anything starts: a taken port would otherwise surface as a page of nats-server log, or as health
  // answers from the other mesh's services.
  await checkPortsFree(opts.ports);
  const logDir = join(opts.stateDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const tls = devTlsEnv(opts.stateDir, opts.tls ?? "mtls", SERVICES);
  const credentials = meshCredentials({ ...tls.env, ...opts.env });
  const keys = ensureMeshKeys(opts.stateDir);
  const auditKey = ensureDevAuditKey(opts.stateDir);
  const natsOpts = { ...natsOptions(opts, logDir), configFile: keys.natsConfigFile };
  const natsNodes = opts.natsNodes ?? 1;
  const started = await startMeshNats(natsOpts, natsNodes).catch((err: unknown) => {
    closeSync(natsOpts.logFile);
    throw err;
  });
  let nats = started.nats;
  const env: Record<string, string> = {
    ...meshEnv(opts.ports, nats.url, opts.modelRepository ?? join(PROJECT_ROOT, "models"), opts.stateDir),
    ...(natsNodes > 1 ? { NATS_REPLICAS: String(Math.min(3, natsNodes)) } : {}),
    ...tls.env,
    SCOREMESH_TRUSTED_OPERATORS_FILE: keys.trustedOperatorsFile,
    SCOREMESH_AUDIT_PUBLIC_KEY_FILE: auditKey.publicKeyFile,
    SCOREMESH_AUDIT_EDGE_PUBLIC_KEY_FILE: auditKey.edge.publicKeyFile,
    ...opts.env,
  };
  const policyBootstrap = await bootstrapControl(nats.url, keys, env["MODEL_REPOSITORY"]!).catch(async (err) => {
    await nats.stop();
    closeSync(natsOpts.logFile);
    throw err;
  });
  const apiKey =
    env["VALIDATOR_AUTH"] === "off"
      ? undefined
      : await ensureDevTenant(nats.url, opts.stateDir, keys).catch(async (err: unknown) => {
          await nats.stop();
          closeSync(natsOpts.logFile);
          throw err;
        });
  const { instances, instanceEnv, metricsEnv } = await replicas(opts);
  const addressOf = (name: InstanceName) => healthAddress(serviceOf(name), { ...env, ...instanceEnv.get(name) });
  const envOf = (name: InstanceName) => ({
    ...env,
    ...tls.serviceEnv(serviceOf(name)),
    ...serviceNatsEnv(keys, serviceOf(name)),
    ...auditInstanceEnv(opts.stateDir, auditKey, name, serviceOf(name), opts.env ?? {}),
    ...instanceEnv.get(name),
  });
  const addressesOf = (service: ServiceName) => instances.filter((i) => serviceOf(i) === service).map(addressOf);
  env["ROUTER_WORKER_ADDRS"] = addressesOf("model-worker").join(",");
  // A hop with several replicas downstream balances over them (grpc-js round_robin over an ipv4: target).
  env["VALIDATOR_FEATURE_ADDR"] = balancedTarget(addressesOf("feature"));
  env["FEATURE_ROUTER_ADDR"] = balancedTarget(addressesOf("router"));
  // The monitors scrape every instance's /metrics for the cost per 1,000 decisions (docs/outcomes.md).
  env["MONITOR_COST_TARGETS"] ??= instances
    .map((name) => metricsUrl(name, { ...envOf(name), ...metricsEnv.get(name) }))
    .join(",");
  const processes = new Map<InstanceName, ChildProcess>();
  const starting = new Map<InstanceName, StartingInstance>();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const logFileOf = (name: string) => join(logDir, opts.monolithic ? MONOLITH_LOG : `${name}.log`);
  const monolith = opts.monolithic
    ? new MonolithProcess({
        projectRoot: PROJECT_ROOT,
        stateDir: opts.stateDir,
        logDir,
        env,
        envOf: (name) => ({ ...envOf(name as InstanceName), ...metricsEnv.get(name as InstanceName) }),
        services: instances,
        addressOf: (name) => addressOf(name as InstanceName),
        credentials: (name) => credentials(name as InstanceName),
        readyTimeoutMs,
        onSpawn: (child) => {
          for (const name of instances) processes.set(name, child);
          if (up) supervisor?.watch(MONOLITH, child);
        },
      })
    : undefined;
  const supervisor = opts.supervise ? new Supervisor(opts.supervise, (name) => restart(name), logFileOf) : undefined;

  const startService = async (name: InstanceName) => {
    if (monolith) return monolith.start(name);
    // The metrics port is the instance's own, not in envOf: a process started from envOf (a test's extra worker) gets none.
    const own = { ...envOf(name), ...metricsEnv.get(name) };
    const instance = spawnInstance(name, own, addressOf(name), logFileOf(name), credentials(name));
    processes.set(name, instance.child);
    starting.set(name, instance);
    if (up) supervisor?.watch(name, instance.child);
    await waitServing(instance, readyTimeoutMs);
    starting.delete(name);
  };

  // The supervisor restarts an instance, or in monolithic mode the one process, until all five serve again.
  const restart = async (name: string) => {
    if (name === MONOLITH) await Promise.all(instances.map((i) => startService(i)));
    else await startService(name as InstanceName);
  };

  const stop = async () => {
    supervisor?.stop();
    for (const name of [...instances].reverse()) {
      const p = processes.get(name);
      if (p) await stopProcess(p, 15_000);
    }
    await nats.stop();
    closeSync(natsOpts.logFile);
  };

  let up = false;
  try {
    // Start everything at once; each service reports SERVING when its own dependencies are up.
    await Promise.all(instances.map((s) => startService(s)));
  } catch (err) {
    const explained = await withOthersNotServing(err, [...starting.values()]);
    await stop();
    throw explained;
  }
  up = true;
  // One watch per process: in monolithic mode every instance names the same one.
  const watched = new Set<ChildProcess>();
  for (const [name, child] of processes)
    if (!watched.has(child) && watched.add(child)) supervisor?.watch(monolith ? MONOLITH : name, child);
  const stopNats = (signal: NodeJS.Signals = "SIGTERM") => nats.kill(signal);
  const startNats = async () => {
    if (natsNodes > 1) throw new Error("startNats restarts a single nats-server, not a cluster");
    if (nats.process.exitCode === null && nats.process.signalCode === null)
      throw new Error("nats-server is still running: stopNats first");
    nats = await startNatsServer(natsOpts);
  };
  return {
    ports: opts.ports,
    natsUrl: nats.url,
    natsNodes: started.nodes,
    env,
    apiKey,
    processes,
    monolithic: monolith !== undefined,
    instances,
    addressOf,
    envOf,
    credentials,
    metricsUrlOf: (name: InstanceName) =>
      serviceOf(name) === "monitor"
        ? `http://${env["MONITOR_HTTP_ADDR"]!}/metrics`
        : `http://${{ ...envOf(name), ...metricsEnv.get(name) }[METRICS_ADDR[serviceOf(name) as keyof typeof METRICS_ADDR]]!}/metrics`,
    logDir,
    startService,
    stopNats,
    startNats,
    stop,
    keys,
    controlEnv: controlEnv(keys),
    policyBootstrap,
  };
}

/** The supervisor's name for the process of a monolithic mesh. */
const MONOLITH = "monolith";

/** A monolithic mesh runs one of each service (the process runs exactly those five): fails fast otherwise. */
function checkMonolithic(opts: MeshOptions): void {
  const counts = [opts.workers, opts.routers, opts.features, opts.validators];
  if (opts.monolithic && counts.some((n) => (n ?? 1) > 1))
    throw new Error("monolithic mode runs one of each service: replicas (workers, routers, ...) need the default mode");
}

/** Where an instance serves its Prometheus metrics, given its environment (a monitor: its page's /metrics). */
function metricsUrl(name: InstanceName, own: Record<string, string | undefined>): string {
  const service = serviceOf(name);
  const addr = service === "monitor" ? own["MONITOR_HTTP_ADDR"] : own[METRICS_ADDR[service]];
  return `http://${addr!}/metrics`;
}

/** Starts one instance with its output appended to `logFile`. */
function spawnInstance(
  name: InstanceName,
  env: Record<string, string>,
  address: string,
  logFile: string,
  credentials: ChannelCredentials,
): StartingInstance {
  const logOffset = logSize(logFile);
  const log = openSync(logFile, "a");
  const child = spawnService(serviceOf(name), env, ["ignore", log, log]);
  closeSync(log);
  return { name, address, credentials, child, logFile, logOffset };
}

/** The credentials to dial each instance with: the client identity of `env`, the public edge's for the validator. */
function meshCredentials(env: Record<string, string>): (instance: InstanceName) => ChannelCredentials {
  const internal = readTlsConfig(new EnvReader(env)).channel();
  const edge = readEdgeCredentials(new EnvReader(env)).channel();
  return (instance) => (serviceOf(instance) === "validator" ? edge : internal);
}

/** nats-server's port, store folder and log (opened for appending), the same on every start of one mesh. */
/**
 * One nats-server, or a JetStream cluster of `nodes` whose KV buckets and audit stream keep 3 copies; the launcher
 * creates some of them itself, so its own process's replica count is set to match.
 */
async function startMeshNats(
  natsOpts: ReturnType<typeof natsOptions> & { configFile: string },
  nodes: number,
): Promise<{ nats: NatsServer; nodes: NatsServer[] }> {
  if (nodes === 1) {
    setBucketReplicas(1);
    const nats = await startNatsServer(natsOpts);
    return { nats, nodes: [nats] };
  }
  const extra = await Promise.all(Array.from({ length: nodes - 1 }, () => freePort()));
  const cluster = await startNatsCluster({ ...natsOpts, ports: [natsOpts.port, ...extra] });
  setBucketReplicas(Math.min(3, nodes));
  return { nats: clusterAsServer(cluster), nodes: cluster.nodes };
}

function natsOptions(opts: MeshOptions, logDir: string) {
  const logPath = join(logDir, "nats-server.log");
  return { port: opts.ports.nats, dir: join(opts.stateDir, "nats"), logFile: openSync(logPath, "a"), logPath };
}

/**
 * The first service that failed may only be a symptom (a feature service waits for its router): its error, with
 * a line for every other service that was not serving yet.
 */
async function withOthersNotServing(err: unknown, notServing: StartingInstance[]): Promise<unknown> {
  if (!(err instanceof NotServingError)) return err;
  const others = await Promise.all(notServing.filter((i) => i.name !== err.instance).map(summary));
  if (others.length === 0) return err;
  return new NotServingError(
    err.instance,
    err.exited,
    `${err.message}\nnot serving either:\n${others.map((l) => "  " + l).join("\n")}`,
  );
}

/** One address as it is; several as an `ipv4:` target that a client balances over (EnvReader.target). */
function balancedTarget(addresses: string[]): string {
  return addresses.length === 1 ? addresses[0]! : `ipv4:${addresses.join(",")}`;
}

/** The metrics listener of each service but the monitor (which serves /metrics on its page). */
const METRICS_ADDR = {
  "model-worker": "WORKER_METRICS_ADDR",
  feature: "FEATURE_METRICS_ADDR",
  router: "ROUTER_METRICS_ADDR",
  validator: "VALIDATOR_METRICS_ADDR",
} as const;

/**
 * Every instance, in start order; the listen address of each replica past the first, and every instance's
 * metrics listener, on free ports.
 */
async function replicas(opts: MeshOptions): Promise<{
  instances: InstanceName[];
  instanceEnv: Map<InstanceName, Record<string, string>>;
  metricsEnv: Map<InstanceName, Record<string, string>>;
}> {
  const instances: InstanceName[] = [];
  const instanceEnv = new Map<InstanceName, Record<string, string>>();
  const metricsEnv = new Map<InstanceName, Record<string, string>>();
  const addrKeys = {
    "model-worker": ["WORKER_ADDR"],
    feature: ["FEATURE_ADDR"],
    router: ["ROUTER_ADDR"],
    validator: ["VALIDATOR_GRPC_ADDR", "VALIDATOR_HTTP_ADDR"],
  } as const;
  const counts = {
    "model-worker": opts.workers,
    router: opts.routers,
    feature: opts.features,
    validator: opts.validators,
  };
  const taken = new Set(Object.values(opts.ports) as number[]);
  for (const s of SERVICES) {
    const n = counts[s as keyof typeof counts] ?? 1;
    for (let i = 1; i <= n; i++) {
      const name: InstanceName = i === 1 ? s : `${s}-${i}`;
      instances.push(name);
      const env: Record<string, string> = {};
      for (const key of i > 1 ? addrKeys[s as keyof typeof addrKeys] : [])
        env[key] = `127.0.0.1:${await distinctFreePort(taken)}`;
      const label = s === "model-worker" ? opts.workerLabels?.[i - 1] : undefined;
      if (label) env["WORKER_LABELS"] = label;
      if (i > 1 || label) instanceEnv.set(name, env);
      if (s !== "monitor" && opts.env?.[METRICS_ADDR[s]] === undefined)
        metricsEnv.set(name, { [METRICS_ADDR[s]]: `127.0.0.1:${await distinctFreePort(taken)}` });
    }
  }
  return { instances, instanceEnv, metricsEnv };
}
