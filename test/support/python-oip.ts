/**
 * The Python client's Open Inference Protocol v2 run against a mesh's model worker, and the checks of its answers
 * (shared by test/e2e/cross-language.test.ts and, against the monolithic mode, test/e2e/monolith.test.ts).
 *
 * The client calls the worker over mutual TLS, with feature vectors it builds in Python from spec.json: FP32,
 * FP64 and INT64 inputs, typed and raw, requested outputs, ModelStatistics; and scores the same rows over the
 * public edge. Every answer is compared with ONNX Runtime run in this process and with the mesh's scores.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import type { PythonClient, ScoreResponseJson } from "./python-client.js";

export const MODEL = "credit-default";
const SPEC = join(PROJECT_ROOT, "models", MODEL, "spec.json");
const CSV = join(PROJECT_ROOT, "models", MODEL, "data", "credit_default.csv");
const REPO = new ModelRepository(join(PROJECT_ROOT, "models"));
/** Every version in the repository (the mesh's champion is one of them), and the width of their input. */
const VERSIONS = REPO.versions(MODEL);
const COLUMNS = REPO.card(MODEL, VERSIONS[0]!).features.length;
export const ROWS = 20;

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

interface ModelStats {
  name: string;
  version: string;
  lastInference?: string;
  inferenceCount?: string;
  executionCount?: string;
  inferenceStats: { success?: StatDuration; queue?: StatDuration; computeInfer?: StatDuration };
  batchStats?: { batchSize: string }[];
}

interface VersionResult {
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
  statistics: { modelStats: ModelStats[] };
}

interface OipResult {
  features: number[][];
  rounded_features: number[][];
  server_live: boolean;
  server_ready: boolean;
  server_metadata: { name?: string; version?: string; extensions?: string[] };
  rows: number;
  versions: Record<string, VersionResult>;
}

/** ROWS rows of the training data, spread over the file, as input objects (every column but `default`). */
export function csvRows(): Record<string, number>[] {
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

/**
 * Runs the Python client's `oip` mode against the worker (mutual TLS with the client certificate the launcher
 * made) and its `score` mode over the public edge, on the same csvRows(), and checks every answer.
 */
export async function checkPythonOip(py: PythonClient, env: Record<string, string>): Promise<void> {
  const rows = csvRows();
  const tls = ["--ca", env["TLS_CA_FILE"]!, "--cert", env["TLS_CERT_FILE"]!, "--key", env["TLS_KEY_FILE"]!];
  const [oip, scored] = await Promise.all([
    py.call(
      "oip",
      ["--addr", env["WORKER_ADDR"]!, "--spec", SPEC, "--model", MODEL, "--versions", VERSIONS.join(","), ...tls],
      rows,
    ) as Promise<OipResult>,
    py.call(
      "score",
      ["--addr", env["VALIDATOR_GRPC_ADDR"]!],
      rows.map((inputs) => ({ model: MODEL, inputs })),
    ) as Promise<ScoreResponseJson[]>,
  ]);
  assertServer(oip);
  for (const version of VERSIONS) assertVersion(oip, version);
  assert.notDeepEqual(
    oip.versions["1"]!.typed.probabilities,
    oip.versions["2"]!.typed.probabilities,
    "versions 1 and 2 answered alike",
  );
  // Every version: the logistic regressions and the gradient-boosted trees (ai.onnx.ml TreeEnsemble).
  for (const version of VERSIONS) {
    await assertMatchesOrt(oip, version);
    assertStatistics(oip.versions[version]!, version);
  }
  assertMeshScores(oip, scored);
}

function assertServer(oip: OipResult): void {
  assert.equal(oip.server_live, true, "ServerLive");
  assert.equal(oip.server_ready, true, "ServerReady");
  assert.ok(oip.server_metadata.name, "ServerMetadata names the server");
  assert.equal(oip.rows, ROWS);
  for (const ext of ["statistics", "execution_provider:cpu"]) {
    assert.ok(
      oip.server_metadata.extensions?.includes(ext),
      `ServerMetadata extensions: ${oip.server_metadata.extensions?.join(",")}`,
    );
  }
}

/** ModelReady, ModelMetadata and the typed and raw FP32 ModelInfer of one version. */
function assertVersion(oip: OipResult, version: string): void {
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

/** Every answer of one version equals ONNX Runtime run here, in process, on the vectors the Python client built. */
async function assertMatchesOrt(oip: OipResult, version: string): Promise<void> {
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
}

function assertStatistics(v: VersionResult, version: string): void {
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
  assert.ok(Number(s.inferenceStats.success?.count) >= 6, `success count ${JSON.stringify(s.inferenceStats.success)}`);
  assert.ok(Number(s.inferenceStats.computeInfer?.ns) > 0, "compute_infer time");
  assert.ok(Number(s.lastInference) > Date.now() - 600_000, `last_inference ${s.lastInference}`);
  assert.ok(
    (s.batchStats ?? []).some((b) => Number(b.batchSize) === ROWS),
    "batch_stats has the size of the calls",
  );
}

/** The mesh's scores (over the public edge) equal the OIP probabilities of the version that scored each row. */
function assertMeshScores(oip: OipResult, scored: ScoreResponseJson[]): void {
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
}
