/**
 * Clients generated in another language from proto/ work against the mesh, unmodified.
 *
 * Starts the real mesh (nats-server and the five services, random ports), generates Python modules from
 * proto/ with protoc at test time, and drives the mesh with test/e2e/python/score_client.py:
 *   - ScoringService/Score on the validator, compared with `meshctl score` (the TypeScript client);
 *   - the model worker's KServe Open Inference Protocol v2 over mutual TLS (grpc.ssl_channel_credentials with the
 *     client certificate under the test's state folder), with feature vectors built in Python from spec.json:
 *     FP32, FP64 and INT64 inputs, typed and raw, requested outputs, ModelStatistics; every answer compared
 *     with ONNX Runtime run in this process and with the mesh's scores;
 *   - an invalid request, whose google.rpc.BadRequest the Python client decodes from grpc-status-details-bin.
 *
 * Needs /usr/bin/python3 with grpcio and protobuf, protoc and grpc_python_plugin (Debian: python3-grpcio,
 * python3-protobuf, protobuf-compiler, protobuf-compiler-grpc); fails, never skips, when one is missing.
 * SCOREMESH_E2E_PYTHON, SCOREMESH_E2E_PROTOC and SCOREMESH_E2E_GRPC_PYTHON_PLUGIN override the binaries.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as ort from "onnxruntime-node";
import { PROJECT_ROOT, randomPorts, startMesh, type Mesh } from "../../deploy/local/mesh.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { meshctlEnv } from "../support/mesh-fixture.js";

const INSTALL_HINT =
  "the cross-language e2e test needs Python gRPC and protoc; on Debian or Ubuntu: " +
  "sudo apt-get install -y python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc";
/** The system Python (the Debian packages install grpc for it, not for a pyenv or venv python3 on PATH). */
const PYTHON = process.env["SCOREMESH_E2E_PYTHON"] ?? "/usr/bin/python3";
const PROTOC = process.env["SCOREMESH_E2E_PROTOC"] ?? "/usr/bin/protoc";
const GRPC_PYTHON_PLUGIN = process.env["SCOREMESH_E2E_GRPC_PYTHON_PLUGIN"] ?? "/usr/bin/grpc_python_plugin";

const CLIENT = join(PROJECT_ROOT, "test", "e2e", "python", "score_client.py");
const MESHCTL = join(PROJECT_ROOT, "dist", "tools", "meshctl", "main.js");
const MODEL = "credit-default";
const SPEC = join(PROJECT_ROOT, "models", MODEL, "spec.json");
const CSV = join(PROJECT_ROOT, "models", MODEL, "data", "credit_default.csv");
const REPO = new ModelRepository(join(PROJECT_ROOT, "models"));
/** Every version in the repository (the mesh's champion is one of them), and the width of their input. */
const VERSIONS = REPO.versions(MODEL);
const COLUMNS = REPO.card(MODEL, VERSIONS[0]!).features.length;
const ROWS = 20;
const SUBPROCESS_TIMEOUT_MS = 20_000;
const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;

let mesh: Mesh | undefined;
let stateDir: string | undefined;
let genDir: string | undefined;

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`), feeding `input` on stdin. */
function run(
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

function describeRun(what: string, r: RunResult): string {
  const how =
    r.signal === "SIGKILL" ? `was killed after ${SUBPROCESS_TIMEOUT_MS} ms` : `exited with ${r.code ?? r.signal}`;
  return `${what} ${how}\nstderr:\n${r.stderr.trim()}\nstdout:\n${r.stdout.trim().slice(0, 2000)}`;
}

/** The environment of the Python client: the system Python's own packages only. */
function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONNOUSERSITE: "1",
    // The development tenant's key, which the client sends as "authorization: Bearer <key>" metadata.
    SCOREMESH_API_KEY: mesh?.apiKey ?? "",
  };
  delete env["PYTHONPATH"];
  delete env["PYTHONHOME"];
  return env;
}

/** Runs score_client.py in `mode` and returns the JSON it prints. */
async function python(mode: string, args: string[], input?: unknown): Promise<unknown> {
  const r = await run(PYTHON, [CLIENT, "--gen", genDir!, mode, ...args], {
    input: input === undefined ? undefined : JSON.stringify(input),
    env: pythonEnv(),
  });
  assert.equal(r.code, 0, describeRun(`score_client.py ${mode}`, r));
  return parseJson(`score_client.py ${mode}`, r);
}

function parseJson(what: string, r: RunResult): unknown {
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch (err) {
    throw new Error(`${what} printed no valid JSON (${(err as Error).message})\n${describeRun(what, r)}`, {
      cause: err,
    });
  }
}

/** `meshctl score --data '{...}' --json` against the mesh; returns the ScoreResponse JSON it prints. */
async function meshctlScore(request: unknown): Promise<ScoreResponseJson> {
  const r = await run(process.execPath, [MESHCTL, "score", "--data", JSON.stringify(request), "--json"], {
    env: { ...process.env, ...meshctlEnv(mesh!) },
  });
  assert.equal(r.code, 0, describeRun("meshctl score", r));
  return parseJson("meshctl score", r) as ScoreResponseJson;
}

/** Maps `fn` over `items` with at most `limit` calls at once, keeping the order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** ROWS rows of the training data, spread over the file, as input objects (every column but `default`). */
function csvRows(): Record<string, number>[] {
  const lines = readFileSync(CSV, "utf8").trim().split("\n");
  const header = lines[0]!.split(",").map((s) => s.trim());
  const data = lines.slice(1);
  const step = Math.floor(data.length / ROWS);
  const rows: Record<string, number>[] = [];
  for (let i = 0; i < ROWS; i++) {
    const cells = data[i * step]!.split(",");
    const row: Record<string, number> = {};
    header.forEach((name, j) => {
      if (name === "default") return;
      const v = Number(cells[j]);
      assert.ok(Number.isFinite(v), `${CSV} line ${i * step + 2}: ${name} is not a number: ${cells[j]}`);
      row[name] = v;
    });
    rows.push(row);
  }
  return rows;
}

interface ScoreResponseJson {
  requestId?: string;
  model?: string;
  modelVersion?: string;
  score?: number;
  decision?: string;
  route?: string;
  degraded?: boolean;
  traceId?: string;
}

interface PythonError {
  code: string;
  code_number: number;
  message: string;
  status?: { code: number; message: string; detail_types: string[] };
  violations: { field: string; reason: string; description: string }[];
}

interface TensorMetadata {
  name: string;
  datatype: string;
  shape: string[];
}

interface InferResult {
  id: string;
  model_version: string;
  output_form: string;
  output: { name: string; datatype: string; shape: number[] };
  /** Numbers, or "NaN" / "Infinity" / "-Infinity" as protobuf JSON writes them. */
  probabilities: (number | string)[];
}

interface TypedInfer {
  output_form: string;
  outputs: string[];
  probabilities: (number | string)[];
}

interface StatDuration {
  count?: string;
  ns?: string;
}

interface OipResult {
  features: number[][];
  rounded_features: number[][];
  server_live: boolean;
  server_ready: boolean;
  server_metadata: { name?: string; version?: string; extensions?: string[] };
  rows: number;
  versions: Record<
    string,
    {
      ready: boolean;
      metadata: {
        name: string;
        versions: string[];
        platform?: string;
        inputs: TensorMetadata[];
        outputs: TensorMetadata[];
      };
      typed: InferResult;
      raw: InferResult;
      fp64_typed: TypedInfer;
      fp64_raw: TypedInfer;
      int64_typed: TypedInfer;
      int64_raw: TypedInfer;
      unknown_output_error: string | null;
      statistics: {
        modelStats: {
          name: string;
          version: string;
          lastInference?: string;
          inferenceCount?: string;
          executionCount?: string;
          inferenceStats: { success?: StatDuration; queue?: StatDuration; computeInfer?: StatDuration };
          batchStats?: { batchSize: string }[];
        }[];
      };
    }
  >;
}

/** Scores of `rows` with ONNX Runtime in this process (the reference for the worker's answers). */
async function ortScores(version: string, rows: number[][]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(join(PROJECT_ROOT, "models", MODEL, version, "model.onnx"));
  try {
    const cols = rows[0]!.length;
    const out = await session.run({
      [session.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(rows.flat()), [rows.length, cols]),
    });
    return out["probability"]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Checks the binaries and packages the test needs; throws naming the Debian packages when one is missing. */
function checkPrerequisites(): void {
  const missing: string[] = [];
  if (!existsSync(PROTOC)) missing.push(`protoc not found at ${PROTOC} (package protobuf-compiler)`);
  if (!existsSync(GRPC_PYTHON_PLUGIN))
    missing.push(`grpc_python_plugin not found at ${GRPC_PYTHON_PLUGIN} (package protobuf-compiler-grpc)`);
  if (!existsSync(PYTHON)) {
    missing.push(`${PYTHON} not found (package python3)`);
  } else {
    const r = spawnSync(PYTHON, ["-c", "import grpc, google.protobuf.json_format"], {
      env: pythonEnv(),
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

before(
  async () => {
    checkPrerequisites();
    genDir = await generatePython();
    stateDir = mkdtempSync(join(tmpdir(), "scoremesh-e2e-xlang-"));
    mesh = await startMesh({ ports: await randomPorts(), stateDir, readyTimeoutMs: 40_000 });
  },
  { timeout: 60_000 },
);

after(
  async () => {
    try {
      await mesh?.stop();
    } finally {
      for (const d of [genDir, stateDir]) if (d) rmSync(d, { recursive: true, force: true });
    }
  },
  { timeout: 30_000 },
);

test("Python ScoringService client and meshctl score 20 CSV rows alike", { timeout: 40_000 }, async () => {
  const rows = csvRows();
  // Each client its own request ids: the same id twice within the edge's idempotency window is one decision.
  const requests = (who: string) => rows.map((inputs, i) => ({ requestId: `${who}-row-${i}`, model: MODEL, inputs }));
  const [py, ts] = await Promise.all([
    python("score", ["--addr", mesh!.env["VALIDATOR_GRPC_ADDR"]!], requests("python")) as Promise<
      (ScoreResponseJson & { error?: PythonError })[]
    >,
    mapLimit(requests("meshctl"), 5, (r) => meshctlScore(r)),
  ]);
  assert.equal(py.length, ROWS);
  for (let i = 0; i < ROWS; i++) {
    const p = py[i]!;
    const t = ts[i]!;
    assert.equal(p.error, undefined, `row ${i}: the Python client got an error: ${JSON.stringify(p.error)}`);
    for (const [who, r] of [
      ["python", p],
      ["meshctl", t],
    ] as const) {
      assert.equal(r.requestId, `${who}-row-${i}`, `${who} row ${i}: request id`);
      assert.equal(r.model, MODEL, `${who} row ${i}: model`);
      assert.match(r.traceId ?? "", TRACE_ID, `${who} row ${i}: trace id must be 32 hex characters`);
      assert.ok(typeof r.score === "number" && r.score >= 0 && r.score <= 1, `${who} row ${i}: score ${r.score}`);
      assert.match(r.decision ?? "", /^DECISION_(APPROVE|REVIEW|DECLINE)$/, `${who} row ${i}: decision`);
    }
    assert.equal(p.modelVersion, t.modelVersion, `row ${i}: model_version`);
    assert.equal(p.decision, t.decision, `row ${i}: decision`);
    assert.equal(p.score, t.score, `row ${i}: score`);
    assert.notEqual(p.traceId, t.traceId, `row ${i}: two calls share a trace id`);
  }
});

test("Python Open Inference Protocol v2 client against the model worker", { timeout: 30_000 }, async () => {
  const rows = csvRows();
  const [oip, scored] = await Promise.all([
    python(
      "oip",
      [
        ...["--addr", mesh!.env["WORKER_ADDR"]!, "--spec", SPEC, "--model", MODEL, "--versions", VERSIONS.join(",")],
        // The worker is internal: mutual TLS with the client certificate the launcher made (.scoremesh/tls/).
        ...[
          "--ca",
          mesh!.env["TLS_CA_FILE"]!,
          "--cert",
          mesh!.env["TLS_CERT_FILE"]!,
          "--key",
          mesh!.env["TLS_KEY_FILE"]!,
        ],
      ],
      rows,
    ) as Promise<OipResult>,
    python(
      "score",
      ["--addr", mesh!.env["VALIDATOR_GRPC_ADDR"]!],
      rows.map((inputs) => ({ model: MODEL, inputs })),
    ) as Promise<ScoreResponseJson[]>,
  ]);
  assert.equal(oip.server_live, true, "ServerLive");
  assert.equal(oip.server_ready, true, "ServerReady");
  assert.ok(oip.server_metadata.name, "ServerMetadata names the server");
  assert.equal(oip.rows, ROWS);
  for (const version of VERSIONS) {
    const v = oip.versions[version];
    assert.ok(v, `no result for version ${version}`);
    assert.equal(v.ready, true, `ModelReady ${MODEL} version ${version}`);
    assert.equal(v.metadata.name, MODEL);
    // The OIP does not order `versions`; the worker lists them in the order they finished loading.
    assert.deepEqual([...v.metadata.versions].sort(), [...VERSIONS].sort(), `ModelMetadata versions`);
    assert.deepEqual(
      v.metadata.inputs,
      [{ name: "features", datatype: "FP32", shape: ["-1", String(COLUMNS)] }],
      "ModelMetadata inputs",
    );
    assert.deepEqual(
      v.metadata.outputs,
      [{ name: "probability", datatype: "FP32", shape: ["-1", "1"] }],
      "ModelMetadata outputs",
    );
    for (const [form, r] of [
      ["typed", v.typed],
      ["raw", v.raw],
    ] as const) {
      assert.equal(r.model_version, version, `${form} ModelInfer: the version that answered`);
      assert.equal(r.id, `py-${form}-${version}`, `${form} ModelInfer: id echoed`);
      assert.deepEqual(
        r.output,
        { name: "probability", datatype: "FP32", shape: [ROWS, 1] },
        `${form} ModelInfer output tensor`,
      );
      assert.equal(r.probabilities.length, ROWS);
      assert.ok(
        r.probabilities.every((p) => typeof p === "number" && p >= 0 && p <= 1),
        `version ${version}, ${form} ModelInfer: probabilities must be in [0, 1], got ${JSON.stringify(r.probabilities)}`,
      );
    }
    assert.deepEqual(v.raw.probabilities, v.typed.probabilities, `version ${version}: raw and typed ModelInfer differ`);
  }
  assert.notDeepEqual(
    oip.versions["1"]!.typed.probabilities,
    oip.versions["2"]!.typed.probabilities,
    "versions 1 and 2 answered alike",
  );

  // Every answer equals ONNX Runtime run here, in process, on the vectors the Python client built.
  assert.ok(
    oip.server_metadata.extensions?.includes("statistics"),
    `ServerMetadata extensions: ${oip.server_metadata.extensions?.join(",")}`,
  );
  assert.ok(
    oip.server_metadata.extensions?.includes("execution_provider:cpu"),
    `ServerMetadata extensions: ${oip.server_metadata.extensions?.join(",")}`,
  );
  // Every version: the logistic regressions and the gradient-boosted trees (ai.onnx.ml TreeEnsemble).
  for (const version of VERSIONS) {
    const v = oip.versions[version]!;
    const expected = await ortScores(version, oip.features);
    const expectedRounded = await ortScores(version, oip.rounded_features);
    const close = (what: string, got: (number | string)[], want: Float32Array) => {
      assert.equal(got.length, want.length, `version ${version} ${what}: row count`);
      got.forEach((g, i) =>
        assert.ok(
          Math.abs(Number(g) - want[i]!) <= 1e-6,
          `version ${version} ${what} row ${i}: ${g} vs in-process ${want[i]}`,
        ),
      );
    };
    close("typed FP32", v.typed.probabilities, expected);
    close("raw FP32", v.raw.probabilities, expected);
    for (const [form, r, want] of [
      ["fp64_typed", v.fp64_typed, expected],
      ["fp64_raw", v.fp64_raw, expected],
      ["int64_typed", v.int64_typed, expectedRounded],
      ["int64_raw", v.int64_raw, expectedRounded],
    ] as const) {
      close(form, r.probabilities, want);
      assert.deepEqual(r.outputs, ["probability"], `${form}: the requested output only`);
      assert.equal(
        r.output_form,
        form.endsWith("raw") ? "raw" : "typed",
        `${form}: raw inputs get raw outputs, typed get typed`,
      );
    }
    assert.equal(v.unknown_output_error, "INVALID_ARGUMENT", "asking for an output the model lacks");

    const stats = v.statistics.modelStats;
    assert.equal(stats.length, 1, "ModelStatistics for one version");
    const s = stats[0]!;
    assert.deepEqual([s.name, s.version], [MODEL, version]);
    // Six successful ModelInfer calls of ROWS rows each came from Python (the mesh may have added some).
    assert.ok(Number(s.inferenceCount) >= 6 * ROWS, `inference_count ${s.inferenceCount}`);
    assert.ok(
      Number(s.executionCount) >= 1 && Number(s.executionCount) <= Number(s.inferenceCount),
      `execution_count ${s.executionCount}`,
    );
    assert.ok(
      Number(s.inferenceStats.success?.count) >= 6,
      `success count ${JSON.stringify(s.inferenceStats.success)}`,
    );
    assert.ok(Number(s.inferenceStats.computeInfer?.ns) > 0, "compute_infer time");
    assert.ok(Number(s.lastInference) > Date.now() - 600_000, `last_inference ${s.lastInference}`);
    assert.ok(
      (s.batchStats ?? []).some((b) => Number(b.batchSize) === ROWS),
      "batch_stats has the size of the calls",
    );
  }

  assert.equal(scored.length, ROWS);
  for (let i = 0; i < ROWS; i++) {
    const s = scored[i]!;
    const version = s.modelVersion ?? "";
    const v = oip.versions[version];
    assert.ok(
      v,
      `row ${i}: the mesh scored with version ${JSON.stringify(version)}, which the OIP client did not call`,
    );
    const direct = Number(v.typed.probabilities[i]);
    assert.ok(
      Math.abs(direct - (s.score ?? NaN)) <= 1e-6,
      `row ${i}: the mesh's score ${s.score} (version ${version}) and the OIP probability ${direct} from Python-built features differ`,
    );
  }
});

test("Python client decodes INVALID_ARGUMENT and its google.rpc.BadRequest", { timeout: 20_000 }, async () => {
  const err = (await python("invalid", ["--addr", mesh!.env["VALIDATOR_GRPC_ADDR"]!])) as PythonError;
  assert.equal(err.code, "INVALID_ARGUMENT", `status ${err.code}: ${err.message}`);
  assert.equal(err.code_number, 3);
  assert.ok(err.status, "no grpc-status-details-bin trailer");
  assert.equal(err.status.code, 3, "google.rpc.Status code");
  assert.ok(
    err.status.detail_types.includes("type.googleapis.com/google.rpc.BadRequest"),
    `details: ${err.status.detail_types.join(", ")}`,
  );
  assert.deepEqual(
    err.violations.map((v) => ({ field: v.field, reason: v.reason })).sort((a, b) => a.field.localeCompare(b.field)),
    [
      { field: "inputs.AGE", reason: "OUT_OF_RANGE" },
      { field: "inputs.FAVOURITE_COLOUR", reason: "UNKNOWN_FIELD" },
    ],
  );
  assert.ok(
    err.violations.every((v) => v.description.length > 0),
    "every violation has a description",
  );
});
