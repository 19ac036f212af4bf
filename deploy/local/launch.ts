import { spawnSync } from "node:child_process";
import { dirname, relative } from "node:path";
import { EnvReader } from "../../services/lib/service/index.js";
import {
  LAUNCH_USAGE,
  LaunchUsageError,
  portVariable,
  readLaunchOptions,
  type LaunchOptions,
} from "./launch-options.js";
import { bootstrapLines } from "./control-bootstrap.js";
import { DEV_KEY_FILE, DEV_TENANT } from "./dev-tenant.js";
import { PortsInUseError, PROJECT_ROOT, startMesh, type Mesh } from "./mesh.js";
import { readMeshState, removeMeshState, writeMeshState } from "./mesh-state.js";
import { findNatsServer, NATS_INSTALL_HINT } from "./nats-server.js";
import { NotServingError } from "./readiness.js";

/** Installs nats-server with apt-get where it is missing and we may (root on Debian/Ubuntu); exits 1 otherwise. */
function ensureNatsServer(): void {
  if (findNatsServer()) return;
  const canInstall = process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v apt-get"]).status === 0;
  if (!canInstall) {
    console.error(NATS_INSTALL_HINT);
    process.exit(1);
  }
  console.log("nats-server is missing: installing it with apt-get (Debian package nats-server) ...");
  const r = spawnSync(
    "sh",
    ["-c", "apt-get install -y nats-server || (apt-get update && apt-get install -y nats-server)"],
    { stdio: "inherit" },
  );
  if (r.status !== 0 || !findNatsServer()) {
    console.error(NATS_INSTALL_HINT);
    process.exit(1);
  }
}

function readOptions(): LaunchOptions {
  try {
    const opts = readLaunchOptions(process.argv.slice(2), process.env);
    if (opts.help) {
      console.log(LAUNCH_USAGE);
      process.exit(0);
    }
    return opts;
  } catch (err) {
    if (!(err instanceof LaunchUsageError)) throw err;
    console.error(`${err.message}\n\n${LAUNCH_USAGE}`);
    process.exit(2);
  }
}

/** What to do when the mesh's ports or state folder are taken: stop the other one, or start this one elsewhere. */
function alreadyRunningHint(): string {
  return (
    "To run a second mesh beside it: npm start -- --port-offset 100 --state-dir .scoremesh/2 " +
    "(meshctl then needs --state-dir .scoremesh/2); one port at a time: " +
    `${portVariable("nats")}=4223 npm start. All the options: npm start -- --help.`
  );
}

/** Exits 1 with what is wrong and what to do when a launcher already runs on this state folder. */
function refuseSecondLauncher(opts: LaunchOptions): void {
  const state = readMeshState(opts.stateDir);
  if (!state?.running || state.pid === process.pid) return;
  console.error(
    `scoremesh is already running from this folder: launcher pid ${state.pid}, started ${state.startedAt}, ` +
      `scoring API on ${state.env["VALIDATOR_GRPC_ADDR"]}, NATS at ${state.env["NATS_URL"]}.\n` +
      `Stop it with Ctrl-C in its terminal (or kill ${state.pid}), or use it: npm run meshctl -- status\n${alreadyRunningHint()}`,
  );
  process.exit(1);
}

/** The message for a start that failed: a port in use gets what to do about it. */
function startFailure(err: Error, opts: LaunchOptions): string {
  if (err instanceof NotServingError && !err.exited) {
    return `${err.message}\nIf it was only slow to start: npm start -- --ready-timeout ${(2 * opts.readyTimeoutMs) / 1000}`;
  }
  if (!(err instanceof PortsInUseError)) return err.message;
  const lines = err.inUse.map(
    (p) => `  port ${p.port} (${p.key}, ${portVariable(p.key)}): in use${p.owner ? ` by ${p.owner}` : ""}`,
  );
  return `cannot start scoremesh: ports in use\n${lines.join("\n")}\nStop what listens there (is another npm start running?), or choose other ports.\n${alreadyRunningHint()}`;
}

/** TLS_MODE for the services: mtls (the default) unless TLS_MODE=off is set; anything else exits 2. */
function tlsMode(): "mtls" | "off" {
  try {
    return new EnvReader(process.env).oneOf("TLS_MODE", ["mtls", "off"], "mtls");
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}

/** Where the certificates are and how a tool uses them (grpcurl flags), or that the mesh runs in plaintext. */
function tlsLine(tls: "mtls" | "off", env: Record<string, string>): string {
  if (tls === "off") return "TLS                       off (TLS_MODE=off): every hop is plaintext";
  const rel = (p = "") => (relative(process.cwd(), p).startsWith("..") ? p : relative(process.cwd(), p));
  return `mutual TLS                ${rel(dirname(env["TLS_CA_FILE"] ?? ""))}/ (tools: -cacert ${rel(env["TLS_CA_FILE"])} -cert ${rel(env["TLS_CERT_FILE"])} -key ${rel(env["TLS_KEY_FILE"])})`;
}

/**
 * The edge's other replicas (--replicas N): each on its own gRPC and HTTP ports (grpc-js cannot share a port:
 * no SO_REUSEPORT, and Node 20's net has no reusePort), all sharing tenants, limits and quotas over NATS.
 */
function validatorReplicaLines(mesh: Mesh): string {
  const extra = mesh.instances.filter((i) => i.startsWith("validator-"));
  return extra
    .map((i) => {
      const env = mesh.envOf(i);
      return `\n  ${i.padEnd(24)}  ${env["VALIDATOR_GRPC_ADDR"]} (gRPC), http://${env["VALIDATOR_HTTP_ADDR"]} (HTTP): clients balance over the list`;
    })
    .join("");
}

/** What the launcher says about the development tenant's API key. */
function devKeyLines(apiKey: string | undefined, stateDir: string): string {
  if (!apiKey)
    return `API keys: the development tenant ${DEV_TENANT} is revoked; make a tenant with npm run meshctl -- tenant create NAME`;
  return (
    `API key of the development tenant ${DEV_TENANT} (every model): ${stateDir}/${DEV_KEY_FILE} (meshctl score reads it;\n` +
    `  other clients send "authorization: Bearer <key>"; more tenants: npm run meshctl -- tenant create NAME)`
  );
}

/**
 * `npm start`: nats-server and the five services on their default ports (`npm start -- --help` for other ports
 * and state folders), state under .scoremesh/, crashed services restarted with backoff, until Ctrl-C.
 */
async function main(): Promise<void> {
  const opts = readOptions();
  ensureNatsServer();
  refuseSecondLauncher(opts);
  const ports = opts.ports;
  console.log(
    `starting nats-server and the five services${opts.monolithic ? " in one process (monolithic mode)" : ""} ...`,
  );
  const started = performance.now();
  const supervise = { report: (line: string) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`) };
  const tls = tlsMode();
  const mesh = await startMesh({
    ports,
    stateDir: opts.stateDir,
    readyTimeoutMs: opts.readyTimeoutMs,
    features: opts.replicas,
    routers: opts.replicas,
    workers: Math.max(opts.replicas, opts.workerLabels.length),
    workerLabels: opts.workerLabels,
    validators: opts.replicas,
    supervise,
    tls,
    monolithic: opts.monolithic,
  }).catch((err: Error) => {
    console.error(startFailure(err, opts));
    process.exit(1);
  });
  // meshctl acts as the control identity and signs with the local operator's key (paths only: no secret in mesh.json).
  const meshctlEnv = { ...mesh.env, ...mesh.controlEnv };
  writeMeshState(opts.stateDir, { pid: process.pid, startedAt: new Date().toISOString(), env: meshctlEnv });
  for (const line of bootstrapLines(mesh.policyBootstrap)) console.log(line);
  const stateDir = relative(PROJECT_ROOT, opts.stateDir) || opts.stateDir;
  const meshctlFlags = stateDir === ".scoremesh" ? "" : ` --state-dir ${stateDir}`;
  console.log(`scoremesh is up (${((performance.now() - started) / 1000).toFixed(1)} s). Endpoints:
  scoring API, gRPC         127.0.0.1:${ports.validatorGrpc}   (scoremesh.scoring.v1.ScoringService, reflection on)
  scoring API, HTTP         http://127.0.0.1:${ports.validatorHttp}   (Connect JSON and gRPC-Web)${validatorReplicaLines(mesh)}
  monitor page              http://127.0.0.1:${ports.monitorHttp}/   (/metrics for Prometheus)
  model worker (OIP v2)     127.0.0.1:${ports.worker}
  feature, router, monitor  127.0.0.1:${ports.feature}, 127.0.0.1:${ports.router}, 127.0.0.1:${ports.monitor}
  Prometheus metrics        ${mesh.instances.map((i) => `${i} ${mesh.metricsUrlOf(i)}`).join("\n                            ")}
  NATS                      ${mesh.natsUrl}   (nkey identities per role: ${relative(PROJECT_ROOT, mesh.keys.natsConfigFile)})
  logs                      ${mesh.logDir}/${mesh.monolithic ? "monolith.log (one process: every service's lines, each with its service)" : ""}
  ${tlsLine(tls, mesh.env)}
Crashed services are restarted (0.5 s backoff, doubling to 10 s); each restart is reported here.
${devKeyLines(mesh.apiKey, stateDir)}
Try:  npm run meshctl -- status${meshctlFlags}
      npm run meshctl -- score --data @deploy/local/example-request.json${meshctlFlags}
      curl -s -H 'content-type: application/json' -H "authorization: Bearer $(cat ${stateDir}/${DEV_KEY_FILE})" http://127.0.0.1:${ports.validatorHttp}/scoremesh.scoring.v1.ScoringService/Score -d @deploy/local/example-request.json
Ctrl-C stops everything.`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the services (draining calls in flight) and nats-server ...`);
    await mesh.stop();
    removeMeshState(opts.stateDir, process.pid);
    console.log("stopped.");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

await main();
