import { parseArgs } from "node:util";
import { DEFAULT_PORTS, type MeshPorts } from "./mesh.js";
import { stateDirPath } from "./mesh-state.js";

/** A bad flag or port variable: the launcher prints it with the usage and exits 2. */
export class LaunchUsageError extends Error {
  override name = "LaunchUsageError";
}

export interface LaunchOptions {
  ports: MeshPorts;
  /** NATS data, logs, the audit log and mesh.json (what meshctl reads). */
  stateDir: string;
  /** How long to wait for every service to report SERVING, ms. */
  readyTimeoutMs: number;
  /** Instances of each of validator, feature, router and model worker (1: one of each). */
  replicas: number;
  /** --worker-labels: worker i gets the i-th label (WORKER_LABELS); empty: every worker derives its own. */
  workerLabels: string[];
  /** --monolithic: the five services in one process, the hops in process (one of each; same ports and surface). */
  monolithic: boolean;
  help: boolean;
}

/** The variable that sets one of the launcher's ports: validatorHttp → SCOREMESH_VALIDATOR_HTTP_PORT. */
export function portVariable(key: keyof MeshPorts): string {
  return `SCOREMESH_${key.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase()}_PORT`;
}

export const LAUNCH_USAGE = `usage: npm start [-- --port-offset N] [--state-dir DIR] [--ready-timeout S] [--replicas N] [--worker-labels L,…] [--monolithic]

  --port-offset N   add N to every default port (e.g. 100: NATS on 4322, the gRPC API on 50151, HTTP on 8180),
                    to run a second mesh beside the first (give it its own --state-dir too)
  --state-dir DIR   NATS data, logs, audit log and mesh.json (default .scoremesh, relative to the project);
                    meshctl --state-dir DIR finds the mesh there
  --ready-timeout S how long every service has to report SERVING (default 60 s)
  --replicas N      N each of validator, feature, router and model worker (default 1; the extra ones on free
                    ports): each hop balances over them and carries on when one goes; the extra validators'
                    addresses are printed (clients balance over them); one monitor
  --worker-labels L,…  worker i gets the i-th label (WORKER_LABELS, e.g. cpu,gpu), with at least as many workers
                    as labels; pool rules (meshctl pool) send a version to the workers of a label
  --monolithic      the five services in ONE process, the hops between them made in process (no sockets, no
                    serialization); the same ports, NATS identities, health and metrics as the default mode, so
                    clients and meshctl cannot tell the difference; one of each service (docs/performance.md)
One port at a time (wins over the offset): ${(Object.keys(DEFAULT_PORTS) as (keyof MeshPorts)[])
  .map((k) => `${portVariable(k)} (${DEFAULT_PORTS[k]})`)
  .join(", ")}.`;

/** The launcher's flags (`argv`, after `npm start --`) and SCOREMESH_<NAME>_PORT variables (`env`). */
export function readLaunchOptions(argv: string[], env: NodeJS.ProcessEnv): LaunchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "port-offset": { type: "string" },
        "state-dir": { type: "string" },
        "ready-timeout": { type: "string" },
        replicas: { type: "string" },
        "worker-labels": { type: "string" },
        monolithic: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new LaunchUsageError((err as Error).message);
  }
  const offset = values["port-offset"] === undefined ? 0 : Number(values["port-offset"]);
  if (!Number.isInteger(offset) || offset < 0 || offset > 10_000) {
    throw new LaunchUsageError(
      `--port-offset must be an integer in [0, 10000], got ${JSON.stringify(values["port-offset"])}`,
    );
  }
  const readyS = Number(values["ready-timeout"] ?? "60");
  if (!Number.isFinite(readyS) || readyS <= 0 || readyS > 3600) {
    throw new LaunchUsageError(
      `--ready-timeout must be seconds in (0, 3600], got ${JSON.stringify(values["ready-timeout"])}`,
    );
  }
  const replicas = Number(values.replicas ?? "1");
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 8) {
    throw new LaunchUsageError(`--replicas must be an integer in [1, 8], got ${JSON.stringify(values.replicas)}`);
  }
  const monolithic = values.monolithic === true;
  if (monolithic && replicas > 1) throw new LaunchUsageError("--monolithic runs one of each service: drop --replicas");
  const workerLabels = workerLabelsOf(values["worker-labels"]);
  if (monolithic && workerLabels.length > 1)
    throw new LaunchUsageError("--monolithic runs one model worker: give --worker-labels one label at most");
  return {
    ports: ports(offset, env),
    stateDir: stateDirPath(values["state-dir"]),
    readyTimeoutMs: readyS * 1000,
    replicas,
    workerLabels,
    monolithic,
    help: values.help === true,
  };
}

/** "cpu,gpu" → ["cpu", "gpu"]: one label per worker, each lower-case letters, digits and '-'. */
function workerLabelsOf(text: string | undefined): string[] {
  if (text === undefined) return [];
  const labels = text.split(",").map((l) => l.trim());
  if (labels.length > 8 || labels.some((l) => !/^[a-z0-9][a-z0-9-]{0,31}$/.test(l)))
    throw new LaunchUsageError(
      `--worker-labels must be 1 to 8 labels (lower-case letters, digits, '-'), e.g. cpu,gpu; got ${JSON.stringify(text)}`,
    );
  return labels;
}

function ports(offset: number, env: NodeJS.ProcessEnv): MeshPorts {
  const out = { ...DEFAULT_PORTS };
  for (const key of Object.keys(out) as (keyof MeshPorts)[]) {
    const name = portVariable(key);
    const raw = env[name];
    const port = raw ? Number(raw) : out[key] + offset;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new LaunchUsageError(
        raw
          ? `${name}: must be a port number, got ${JSON.stringify(raw)}`
          : `--port-offset ${offset} puts ${key} past port 65535`,
      );
    }
    out[key] = port;
  }
  const seen = new Map<number, string>();
  for (const [key, port] of Object.entries(out)) {
    if (seen.has(port)) throw new LaunchUsageError(`${key} and ${seen.get(port)} would both use port ${port}`);
    seen.set(port, key);
  }
  return out;
}
