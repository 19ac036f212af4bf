import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { DEFAULT_PORTS, PROJECT_ROOT, startMesh, type MeshPorts } from "./mesh.js";
import { findNatsServer, NATS_INSTALL_HINT } from "./nats-server.js";

/**
 * `npm start`: nats-server and the five services on their default ports (override with SCOREMESH_<PORT>,
 * e.g. SCOREMESH_VALIDATOR_HTTP_PORT=8081), state under .scoremesh/, until Ctrl-C.
 */
async function main(): Promise<void> {
  if (!findNatsServer()) {
    const canInstall = process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v apt-get"]).status === 0;
    if (!canInstall) {
      console.error(NATS_INSTALL_HINT);
      process.exit(1);
    }
    console.log("nats-server is missing: installing it with apt-get (Debian package nats-server) ...");
    const r = spawnSync("sh", ["-c", "apt-get install -y nats-server || (apt-get update && apt-get install -y nats-server)"], { stdio: "inherit" });
    if (r.status !== 0 || !findNatsServer()) {
      console.error(NATS_INSTALL_HINT);
      process.exit(1);
    }
  }
  const ports = { ...DEFAULT_PORTS };
  for (const key of Object.keys(ports) as (keyof MeshPorts)[]) {
    const name = `SCOREMESH_${key.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase()}_PORT`;
    const v = process.env[name];
    if (v) {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0 || n > 65535) {
        console.error(`${name}: must be a port number, got ${JSON.stringify(v)}`);
        process.exit(2);
      }
      ports[key] = n;
    }
  }
  const stateDir = join(PROJECT_ROOT, ".scoremesh");
  console.log("starting nats-server and the five services ...");
  const started = performance.now();
  const mesh = await startMesh({ ports, stateDir }).catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
  console.log(`scoremesh is up (${((performance.now() - started) / 1000).toFixed(1)} s). Endpoints:
  scoring API, gRPC         127.0.0.1:${ports.validatorGrpc}   (scoremesh.scoring.v1.ScoringService, reflection on)
  scoring API, HTTP         http://127.0.0.1:${ports.validatorHttp}   (Connect JSON and gRPC-Web)
  monitor page              http://127.0.0.1:${ports.monitorHttp}/   (/metrics for Prometheus)
  model worker (OIP v2)     127.0.0.1:${ports.worker}
  feature, router, monitor  127.0.0.1:${ports.feature}, 127.0.0.1:${ports.router}, 127.0.0.1:${ports.monitor}
  NATS                      ${mesh.natsUrl}
  logs                      ${mesh.logDir}/
Try:  npm run meshctl -- status
      curl -s -H 'content-type: application/json' http://127.0.0.1:${ports.validatorHttp}/scoremesh.scoring.v1.ScoringService/Score -d @deploy/local/example-request.json
Ctrl-C stops everything.`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the services (draining calls in flight) and nats-server ...`);
    await mesh.stop();
    console.log("stopped.");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  for (const [name, child] of mesh.processes) {
    child.once("exit", (code, sig) => {
      if (!stopping) console.error(`${name} exited unexpectedly (${code ?? sig}); see ${mesh.logDir}/${name}.log`);
    });
  }
}

await main();
