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
 * The client's prerequisites (fails, never skips, when one is missing) and the module generation:
 * test/support/python-client.ts; the OIP checks, which test/e2e/monolith.test.ts runs against the monolithic
 * mode too: test/support/python-oip.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PROJECT_ROOT, randomPorts, startMesh, type Mesh } from "../../deploy/local/mesh.js";
import { meshctlEnv } from "../support/mesh-fixture.js";
import {
  describeRun,
  parseJson,
  pythonClient,
  run,
  type PythonClient,
  type PythonError,
  type ScoreResponseJson,
} from "../support/python-client.js";
import { checkPythonOip, csvRows, MODEL, ROWS } from "../support/python-oip.js";

const MESHCTL = join(PROJECT_ROOT, "dist", "tools", "meshctl", "main.js");
const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;

let mesh: Mesh | undefined;
let stateDir: string | undefined;
let py: PythonClient | undefined;

/** Runs score_client.py in `mode` and returns the JSON it prints. */
function python(mode: string, args: string[], input?: unknown): Promise<unknown> {
  return py!.call(mode, args, input);
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

before(
  async () => {
    py = await pythonClient(() => mesh?.apiKey);
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
      py?.close();
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
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
  await checkPythonOip(py!, mesh!.env);
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
