import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { logSize, waitServing } from "./readiness.js";

/** The monolith's log: every service's lines (each carries its `service`) in one file under the logs folder. */
export const MONOLITH_LOG = "monolith.log";

export interface MonolithOptions {
  projectRoot: string;
  stateDir: string;
  logDir: string;
  /** The process's own environment (what every service shares: NATS_URL, OTEL_*, LOG_LEVEL, ...). */
  env: Record<string, string>;
  /** Each service's whole environment: what its own process would get (its certificate, NATS identity, ports). */
  envOf(service: string): Record<string, string>;
  services: readonly string[];
  addressOf(service: string): string;
  credentials(service: string): ChannelCredentials;
  readyTimeoutMs: number;
  /** Called with each process started (the launcher records it under every instance and supervises it). */
  onSpawn(child: ChildProcess): void;
}

/**
 * Monolithic mode of the launcher (`npm start -- --monolithic`): the five services in one process
 * (services/monolith), each with the environment its own process would get, written to
 * `<stateDir>/monolith-env.json` (mode 0600: it names key files) and named by SCOREMESH_MONOLITH_ENV_FILE.
 */
export class MonolithProcess {
  private child?: ChildProcess;
  private logOffset = 0;
  readonly logFile: string;
  private readonly envFile: string;

  constructor(private readonly opts: MonolithOptions) {
    this.logFile = join(opts.logDir, MONOLITH_LOG);
    this.envFile = join(opts.stateDir, "monolith-env.json");
  }

  /** Starts the process unless it runs, and resolves once `service` in it reports SERVING. */
  async start(service: string): Promise<void> {
    const child = this.running() ?? this.spawn();
    await waitServing(
      {
        name: service,
        address: this.opts.addressOf(service),
        credentials: this.opts.credentials(service),
        child,
        logFile: this.logFile,
        logOffset: this.logOffset,
      },
      this.opts.readyTimeoutMs,
    );
  }

  private running(): ChildProcess | undefined {
    const c = this.child;
    return c && c.exitCode === null && c.signalCode === null ? c : undefined;
  }

  private spawn(): ChildProcess {
    const envs = Object.fromEntries(this.opts.services.map((s) => [s, this.opts.envOf(s)]));
    writeFileSync(this.envFile, JSON.stringify(envs), { mode: 0o600 });
    chmodSync(this.envFile, 0o600);
    this.logOffset = logSize(this.logFile);
    const log = openSync(this.logFile, "a");
    const nodeArgs = (process.env["SCOREMESH_NODE_ARGS"] ?? "").split(" ").filter(Boolean);
    const main = join(this.opts.projectRoot, "dist", "services", "monolith", "main.js");
    this.child = spawn(process.execPath, [...nodeArgs, main], {
      cwd: this.opts.projectRoot,
      env: { ...process.env, ...this.opts.env, SCOREMESH_MONOLITH_ENV_FILE: this.envFile },
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    this.opts.onSpawn(this.child);
    return this.child;
  }
}
