import type { ChildProcess } from "node:child_process";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { readFileSync, statSync } from "node:fs";
import { HealthProbe, type ServingStatus } from "../../services/lib/rpc/index.js";

/** A service process the launcher started and waits for. */
export interface StartingInstance {
  name: string;
  /** The gRPC address whose grpc.health.v1 says whether it is up. */
  address: string;
  /** How to dial it (the launcher's client certificate). */
  credentials: ChannelCredentials;
  child: ChildProcess;
  logFile: string;
  /** The log file's size when this process started: what it wrote is after it (the file keeps earlier runs). */
  logOffset: number;
}

/** A service that did not become SERVING; the message says why, in the service's own words. */
export class NotServingError extends Error {
  override name = "NotServingError";
  constructor(
    readonly instance: string,
    /** It exited (rather than ran on without reporting SERVING). */
    readonly exited: boolean,
    message: string,
  ) {
    super(message);
  }
}

/** A log file's size now (0 when there is none yet). */
export function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Reconnect backoff of the readiness probe. A process that does not listen yet fails the first connect; grpc-js's
 * default backoff (1 s, then x1.6 with jitter, up to 2 min) would then see it SERVING seconds after it is, which every
 * start of a mesh (and every restart of a service) paid.
 */
const STARTUP_BACKOFF = { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 200 };

/** Resolves once `i` reports SERVING; fails after `timeoutMs`, or when it exits first, with `describe`'s report. */
export async function waitServing(i: StartingInstance, timeoutMs: number): Promise<void> {
  const probe = new HealthProbe(i.address, i.credentials, STARTUP_BACKOFF);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (exited(i.child))
        throw new NotServingError(
          i.name,
          true,
          `${i.name} exited before it was serving.\n${describe(i, "UNREACHABLE")}`,
        );
      const health = await probe.check("", 500);
      if (health === "SERVING") return;
      if (Date.now() > deadline)
        throw new NotServingError(
          i.name,
          false,
          `${i.name} did not report SERVING within ${timeoutMs} ms.\n${describe(i, health)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    probe.close();
  }
}

/** One line for an instance that is not serving yet: "router: running, NOT_SERVING (no model worker is serving)". */
export async function summary(i: StartingInstance): Promise<string> {
  const health = exited(i.child) ? "UNREACHABLE" : await checkOnce(i.address, i.credentials);
  const log = readRun(i);
  const why = lastError(log) ?? notServingReason(log);
  return `${i.name}: ${processState(i.child)}, ${health}${why ? ` (${why})` : ""}`;
}

/**
 * Why `i` is not serving, in the service's own words: its process state, its health, the reason it logged
 * (the last error, else the reason it gave for NOT_SERVING), and the lines it logged since it started.
 */
export function describe(i: StartingInstance, health: ServingStatus, lines = 15): string {
  const log = readRun(i);
  const out = [
    `  process: ${processState(i.child)}`,
    `  health:  ${health} at ${i.address}${health === "UNREACHABLE" ? " (nothing answers there)" : ""}`,
  ];
  const error = lastError(log);
  const reason = notServingReason(log);
  if (error) out.push(`  error:   ${error}`);
  else if (reason) out.push(`  reason:  ${reason}`);
  if (log.length === 0) {
    const level = process.env["LOG_LEVEL"];
    const hidden =
      level && level !== "info" && level !== "debug" && level !== "trace"
        ? ` (LOG_LEVEL=${level} hides its info lines)`
        : "";
    const slow =
      !exited(i.child) && health === "UNREACHABLE" ? " and nothing listens yet: still starting (a busy machine?)" : "";
    out.push(`  ${i.logFile}: nothing written since it started${hidden}${slow}`);
  } else {
    out.push(`  last lines of ${i.logFile} (this start):`, ...log.slice(-lines).map((l) => "    " + formatLine(l)));
  }
  return out.join("\n");
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function processState(child: ChildProcess): string {
  if (child.exitCode !== null)
    return `exited with code ${child.exitCode}${child.exitCode === 2 ? " (configuration error)" : ""}`;
  if (child.signalCode !== null) return `killed by ${child.signalCode}`;
  return `running (pid ${child.pid})`;
}

async function checkOnce(address: string, credentials: ChannelCredentials): Promise<ServingStatus> {
  const probe = new HealthProbe(address, credentials);
  try {
    return await probe.check("", 500);
  } finally {
    probe.close();
  }
}

type LogLine = Record<string, unknown> | string;

/** The lines this run of the instance logged (JSON parsed where it is JSON). */
function readRun(i: StartingInstance): LogLine[] {
  let text: string;
  try {
    text = readFileSync(i.logFile).subarray(i.logOffset).toString("utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(parseLine);
}

function parseLine(line: string): LogLine {
  if (!line.startsWith("{")) return line;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
}

function lastError(log: LogLine[]): string | undefined {
  const line = log.findLast((l) => typeof l !== "string" && (l["level"] === "fatal" || l["level"] === "error"));
  if (!line || typeof line === "string") return undefined;
  const err = line["err"] as { message?: string } | undefined;
  return [line["msg"], err?.message].filter(Boolean).join(": ");
}

function notServingReason(log: LogLine[]): string | undefined {
  const line = log.findLast((l) => typeof l !== "string" && l["health"] !== undefined);
  return line && typeof line !== "string" && line["health"] === "NOT_SERVING" && line["why"]
    ? text(line["why"])
    : undefined;
}

/** A log field as text: strings as they are, anything else as JSON. */
function text(v: unknown): string {
  return v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);
}

const OMIT = new Set(["level", "time", "service", "pid", "msg", "hostname"]);

/** A pino line for people: "11:13:53.085 info  listening address=127.0.0.1:50061 port=50061". */
function formatLine(l: LogLine): string {
  if (typeof l === "string") return l.slice(0, 240);
  const fields = Object.entries(l)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  const time = typeof l["time"] === "string" ? l["time"].slice(11, 23) : "";
  return `${time} ${text(l["level"]).padEnd(5)} ${text(l["msg"])} ${fields.join(" ")}`.trimEnd().slice(0, 240);
}
