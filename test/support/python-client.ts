/**
 * The Python grpcio client of the e2e tests (test/e2e/python/score_client.py): its prerequisites, the Python
 * modules protoc generates from proto/ into a temp dir, and a runner that returns the JSON the client prints.
 *
 * Needs /usr/bin/python3 with grpcio and protobuf, protoc and grpc_python_plugin (Debian: python3-grpcio,
 * python3-protobuf, protobuf-compiler, protobuf-compiler-grpc); fails, never skips, when one is missing.
 * SCOREMESH_E2E_PYTHON, SCOREMESH_E2E_PROTOC and SCOREMESH_E2E_GRPC_PYTHON_PLUGIN override the binaries.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";

const INSTALL_HINT =
  "the cross-language e2e test needs Python gRPC and protoc; on Debian or Ubuntu: " +
  "sudo apt-get install -y python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc";
/** The system Python (the Debian packages install grpc for it, not for a pyenv or venv python3 on PATH). */
const PYTHON = process.env["SCOREMESH_E2E_PYTHON"] ?? "/usr/bin/python3";
const PROTOC = process.env["SCOREMESH_E2E_PROTOC"] ?? "/usr/bin/protoc";
const GRPC_PYTHON_PLUGIN = process.env["SCOREMESH_E2E_GRPC_PYTHON_PLUGIN"] ?? "/usr/bin/grpc_python_plugin";
const CLIENT = join(PROJECT_ROOT, "test", "e2e", "python", "score_client.py");
const SUBPROCESS_TIMEOUT_MS = 20_000;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`), feeding `input` on stdin. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: PROJECT_ROOT,
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: opts.timeoutMs ?? SUBPROCESS_TIMEOUT_MS,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.once("error", (err) => reject(new Error(`cannot run ${cmd}: ${err.message}`)));
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.on("error", () => undefined); // a child that exits early closes its stdin
    child.stdin.end(opts.input ?? "");
  });
}

export function describeRun(what: string, r: RunResult): string {
  const how =
    r.signal === "SIGKILL" ? `was killed after ${SUBPROCESS_TIMEOUT_MS} ms` : `exited with ${r.code ?? r.signal}`;
  return `${what} ${how}\nstderr:\n${r.stderr.trim()}\nstdout:\n${r.stdout.trim().slice(0, 2000)}`;
}

export function parseJson(what: string, r: RunResult): unknown {
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch (err) {
    throw new Error(`${what} printed no valid JSON (${(err as Error).message})\n${describeRun(what, r)}`, {
      cause: err,
    });
  }
}

/** The environment of the Python client: the system Python's own packages only, and the tenant's API key. */
function pythonEnv(apiKey: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONNOUSERSITE: "1",
    // The development tenant's key, which the client sends as "authorization: Bearer <key>" metadata.
    SCOREMESH_API_KEY: apiKey ?? "",
  };
  delete env["PYTHONPATH"];
  delete env["PYTHONHOME"];
  return env;
}

/** Checks the binaries and packages the client needs; throws naming the Debian packages when one is missing. */
function checkPrerequisites(): void {
  const missing: string[] = [];
  if (!existsSync(PROTOC)) missing.push(`protoc not found at ${PROTOC} (package protobuf-compiler)`);
  if (!existsSync(GRPC_PYTHON_PLUGIN))
    missing.push(`grpc_python_plugin not found at ${GRPC_PYTHON_PLUGIN} (package protobuf-compiler-grpc)`);
  if (!existsSync(PYTHON)) {
    missing.push(`${PYTHON} not found (package python3)`);
  } else {
    const r = spawnSync(PYTHON, ["-c", "import grpc, google.protobuf.json_format"], {
      env: pythonEnv(undefined),
      encoding: "utf8",
      timeout: 15_000,
    });
    if (r.status !== 0) {
      missing.push(
        `${PYTHON} cannot import grpc and google.protobuf (packages python3-grpcio, python3-protobuf): ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`,
      );
    }
  }
  if (missing.length) throw new Error(`${missing.join("; ")}.\n${INSTALL_HINT}`);
}

/** Generates the Python modules of the public API, OIP v2 and google.rpc into a new temp dir. */
async function generatePython(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-pygen-"));
  const rpcProtos = readdirSync(join(PROJECT_ROOT, "proto", "google", "rpc"))
    .filter((f) => f.endsWith(".proto"))
    .map((f) => join("proto", "google", "rpc", f));
  const r = await run(PROTOC, [
    "-I",
    "proto",
    "-I",
    "/usr/include",
    `--plugin=protoc-gen-grpc_python=${GRPC_PYTHON_PLUGIN}`,
    `--python_out=${dir}`,
    `--grpc_python_out=${dir}`,
    join("proto", "scoremesh", "scoring", "v1", "scoring.proto"),
    join("proto", "inference", "grpc_predict_v2.proto"),
    ...rpcProtos,
  ]);
  if (r.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(describeRun("protoc", r) + `\n${INSTALL_HINT}`);
  }
  return dir;
}

export interface PythonClient {
  /** Runs score_client.py in `mode` (score, oip, invalid), `input` as JSON on stdin; returns the JSON it prints. */
  call(mode: string, args: string[], input?: unknown): Promise<unknown>;
  /** Removes the generated modules. */
  close(): void;
}

/** Checks the prerequisites and generates the modules; `apiKey()` is read at each call (the mesh may start later). */
export async function pythonClient(apiKey: () => string | undefined): Promise<PythonClient> {
  checkPrerequisites();
  const genDir = await generatePython();
  return {
    async call(mode, args, input) {
      const r = await run(PYTHON, [CLIENT, "--gen", genDir, mode, ...args], {
        input: input === undefined ? undefined : JSON.stringify(input),
        env: pythonEnv(apiKey()),
      });
      assert.equal(r.code, 0, describeRun(`score_client.py ${mode}`, r));
      return parseJson(`score_client.py ${mode}`, r);
    },
    close: () => rmSync(genDir, { recursive: true, force: true }),
  };
}

/** A ScoreResponse as the Python client (and meshctl) print it: protobuf JSON. */
export interface ScoreResponseJson {
  requestId?: string;
  model?: string;
  modelVersion?: string;
  score?: number;
  decision?: string;
  route?: string;
  degraded?: boolean;
  traceId?: string;
}

/** A gRPC error as the Python client prints it, with the google.rpc.BadRequest it decoded. */
export interface PythonError {
  code: string;
  code_number: number;
  message: string;
  status?: { code: number; message: string; detail_types: string[] };
  violations: { field: string; reason: string; description: string }[];
}
