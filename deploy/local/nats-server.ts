import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, writeSync } from "node:fs";
import { join } from "node:path";

export const NATS_INSTALL_HINT =
  "nats-server is not installed. On Debian or Ubuntu: sudo apt-get install -y nats-server " +
  "(or download it from https://github.com/nats-io/nats-server/releases and put it on PATH).";

/** The nats-server binary on PATH (or in NATS_SERVER_BIN), or undefined. */
export function findNatsServer(): string | undefined {
  const explicit = process.env["NATS_SERVER_BIN"];
  if (explicit) return explicit;
  const r = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

export interface NatsServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
  /** Sends `signal` (e.g. SIGKILL, to crash it) and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Starts nats-server with JetStream on 127.0.0.1:`port`, its data under `dir`, and resolves once it says it is
 * ready. Fails with a clear message when the binary is missing or the server exits.
 */
export async function startNatsServer(opts: {
  port: number;
  dir: string;
  logFile?: number;
  logPath?: string;
  /** A configuration file (-c), e.g. the users and permissions nats-identities.ts writes. */
  configFile?: string;
  /** More flags, e.g. a cluster node's name, cluster listener and routes (nats-cluster.ts). */
  extraArgs?: string[];
  /** The log line that says it is ready (default "Server is ready"; a cluster node waits for a JetStream leader). */
  readyWhen?: RegExp;
}): Promise<NatsServer> {
  const bin = findNatsServer();
  if (!bin) throw new Error(NATS_INSTALL_HINT);
  mkdirSync(opts.dir, { recursive: true });
  const args = [
    "-a",
    "127.0.0.1",
    "-p",
    String(opts.port),
    "-js",
    "-sd",
    join(opts.dir, "jetstream"),
    "-P",
    join(opts.dir, "nats-server.pid"),
    ...(opts.configFile ? ["-c", opts.configFile] : []),
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not become ready in 15 s:\n${output}`)), 15_000);
    const onData = (b: Buffer) => {
      output += b.toString();
      if (opts.logFile !== undefined) writeLog(opts.logFile, b);
      if ((opts.readyWhen ?? /Server is ready/).test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(exitMessage(code, output, opts.port, opts.logPath)));
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  child.stdout.removeAllListeners("data");
  child.stderr.removeAllListeners("data");
  if (opts.logFile !== undefined) {
    const fd = opts.logFile;
    child.stdout.on("data", (b: Buffer) => writeLog(fd, b));
    child.stderr.on("data", (b: Buffer) => writeLog(fd, b));
  } else {
    child.stdout.resume();
    child.stderr.resume();
  }
  return {
    url: `nats://127.0.0.1:${opts.port}`,
    port: opts.port,
    process: child,
    stop: () => stopProcess(child, 10_000),
    kill: (signal) => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * Why nats-server stopped, in a line or two: its fatal lines (not the page of start-up log before them), what to
 * do about a port in use, and where the whole log is.
 */
function exitMessage(code: number | null, output: string, port: number, logPath?: string): string {
  const fatal = output
    .split("\n")
    .filter((l) => l.includes("[FTL]"))
    .map((l) => l.replace(/^\[\d+\] \S+ \S+ \[FTL\] /, ""));
  const why = fatal.length ? fatal.join("\n") : output.trim().split("\n").slice(-5).join("\n");
  const hint = /address already in use/.test(output)
    ? `\nport ${port} is in use: stop what listens there, or start NATS on another port.`
    : "";
  return `nats-server exited with code ${code}: ${why}${hint}${logPath ? `\nits log: ${logPath}` : ""}`;
}

function writeLog(fd: number, b: Buffer): void {
  try {
    writeSync(fd, b);
  } catch {
    // The log file is best effort.
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
