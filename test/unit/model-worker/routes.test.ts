import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, type Client } from "@connectrpc/connect";
import { pino } from "pino";
import {
  GRPCInferenceService,
  type ModelInferRequest,
  type ModelInferRequestSchema,
} from "../../../gen/inference/grpc_predict_v2_pb.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { DeadlineExpiredError, QueueFullError } from "../../../services/lib/batching/index.js";
import { ModelRepository } from "../../../services/lib/model/index.js";
import { ModelRegistry } from "../../../services/model-worker/model-registry.js";
import { readRetryDelayMs, RETRY_INFO_TYPE } from "../../../services/lib/rpc/index.js";
import { inferenceRoutes } from "../../../services/model-worker/routes.js";
import type { GoldenFile } from "../../../tools/trainer/golden.js";
import { inProcessClient, rejectionOf } from "../../support/in-process.js";

const MODEL = "credit-default";
const COLS = 31;
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const golden = JSON.parse(readFileSync(join(PROJECT_ROOT, "models", MODEL, "golden.json"), "utf8")) as GoldenFile;
/** Two feature vectors the feature service builds (from golden.json), row-major. */
const VECTORS = golden.cases.slice(0, 2).map((c) => c.vector);
const FLAT = VECTORS.flat();

type InferInit = MessageInitShape<typeof ModelInferRequestSchema>;
/** Fields of a request as plain values (not a message). */
type InferFields = Exclude<InferInit, ModelInferRequest>;

/** A ModelInfer request of `values` as FP32 rows of COLS features (typed contents), with `extra` fields over it. */
const inferRequest = (version: string, values: number[], extra: InferFields = {}): InferInit => ({
  modelName: MODEL,
  modelVersion: version,
  id: "req-1",
  inputs: [
    {
      name: "features",
      datatype: "FP32",
      shape: [BigInt(values.length / COLS), BigInt(COLS)],
      contents: { fp32Contents: values },
    },
  ],
  ...extra,
});

/** Version 1 is a logistic regression: its score, computed from the card's coefficients. */
function linearScore(vector: number[]): number {
  const linear = repo.card(MODEL, "1").linear!;
  const logit = vector.reduce((sum, x, i) => sum + x * linear.coefficients[i]!, linear.intercept);
  return 1 / (1 + Math.exp(-logit));
}

// The real registry on ONNX Runtime (CPU, no batching): every version of the shipped model, loaded once.
const registry = new ModelRegistry(
  repo,
  [MODEL],
  {
    sessionOptions: { intraOpNumThreads: 1 },
    providers: ["cpu"],
    batching: { enabled: false, maxBatchRows: 8, maxQueueDelayUs: 0, maxQueueRows: 64 },
  },
  pino({ level: "silent" }),
);
let ready = true;
let worker: Client<typeof GRPCInferenceService>;

before(async () => {
  await registry.sync();
  worker = inProcessClient(
    GRPCInferenceService,
    inferenceRoutes(registry, () => ready),
  );
});
after(() => registry.close());

test("ModelInfer runs the shipped model: one probability per row, as the card's coefficients give", async () => {
  const res = await worker.modelInfer(inferRequest("1", FLAT));
  assert.deepEqual([res.modelName, res.modelVersion, res.id], [MODEL, "1", "req-1"]);
  assert.equal(res.outputs.length, 1);
  const out = res.outputs[0]!;
  assert.deepEqual([out.name, out.datatype, out.shape], ["probability", "FP32", [2n, 1n]]);
  const scores = out.contents?.fp32Contents ?? [];
  assert.equal(scores.length, 2);
  scores.forEach((s, i) =>
    assert.ok(Math.abs(s - linearScore(VECTORS[i]!)) < 1e-5, `row ${i}: ${s} vs ${linearScore(VECTORS[i]!)}`),
  );
  assert.notEqual(scores[0], scores[1]);
});

test("raw FP32 input gets raw output; FP64 contents are read too; both score as typed FP32 does", async () => {
  const typed = (await worker.modelInfer(inferRequest("3", FLAT))).outputs[0]!.contents!.fp32Contents;
  const raw = await worker.modelInfer(
    inferRequest("3", FLAT, {
      inputs: [{ name: "features", datatype: "FP32", shape: [2n, BigInt(COLS)] }],
      rawInputContents: [new Uint8Array(Float32Array.from(FLAT).buffer)],
    }),
  );
  assert.equal(raw.outputs[0]!.contents, undefined);
  const rawBytes = raw.rawOutputContents[0]!;
  assert.deepEqual(Array.from(new Float32Array(rawBytes.slice().buffer)), typed);
  const fp64 = await worker.modelInfer(
    inferRequest("3", FLAT, {
      inputs: [{ name: "features", datatype: "FP64", shape: [2n, BigInt(COLS)], contents: { fp64Contents: FLAT } }],
    }),
  );
  assert.deepEqual(fp64.outputs[0]!.contents?.fp32Contents, typed);
});

test("a request without a version runs the champion from the serving policy", async (t) => {
  registry.champions.set(MODEL, "4");
  t.after(() => registry.champions.delete(MODEL));
  assert.equal((await worker.modelInfer(inferRequest("", FLAT))).modelVersion, "4");
});

test("ModelMetadata describes the model's versions and tensors", async () => {
  const meta = await worker.modelMetadata({ name: MODEL, version: "2" });
  assert.deepEqual([meta.name, meta.versions, meta.platform], [MODEL, ["1", "2", "3", "4", "5"], "onnxruntime_onnx"]);
  assert.deepEqual(
    meta.inputs.map((t) => [t.name, t.datatype, t.shape]),
    [["features", "FP32", [-1n, 31n]]],
  );
  assert.deepEqual(
    meta.outputs.map((t) => [t.name, t.datatype, t.shape]),
    [["probability", "FP32", [-1n, 1n]]],
  );
});

test("ModelReady, ServerReady, ServerLive and ServerMetadata", async (t) => {
  assert.equal((await worker.modelReady({ name: MODEL, version: "1" })).ready, true);
  assert.equal((await worker.modelReady({ name: MODEL, version: "9" })).ready, false);
  assert.equal((await worker.modelReady({ name: "nope", version: "1" })).ready, false);
  assert.equal((await worker.serverLive({})).live, true);
  assert.equal((await worker.serverReady({})).ready, true);
  ready = false;
  t.after(() => (ready = true));
  assert.equal((await worker.serverReady({})).ready, false);
  const meta = await worker.serverMetadata({});
  assert.deepEqual([meta.name, meta.extensions], ["scoremesh-model-worker", ["statistics", "execution_provider:cpu"]]);
});

/** The INVALID_ARGUMENT message a bad ModelInfer request gets. */
async function invalidArgumentOf(req: InferInit): Promise<string> {
  const err = await rejectionOf(worker.modelInfer(req));
  assert.equal(err.code, Code.InvalidArgument, err.message);
  return err.rawMessage;
}

test("a wrong shape, datatype, element count, input or output is INVALID_ARGUMENT saying what is wrong", async () => {
  const input = (extra: object) => ({ inputs: [{ name: "features", datatype: "FP32", shape: [2n, 30n], ...extra }] });
  assert.equal(
    await invalidArgumentOf(inferRequest("1", FLAT, input({}))),
    "input features: shape must be [N, 31] with N >= 1, got [2, 30]",
  );
  assert.equal(
    await invalidArgumentOf(inferRequest("1", FLAT, input({ shape: [2n, 31n], datatype: "BYTES" }))),
    "input features: datatype BYTES is not supported (use FP32, FP64, INT32 or INT64)",
  );
  assert.equal(
    await invalidArgumentOf(inferRequest("1", FLAT, input({ shape: [3n, 31n], contents: { fp32Contents: FLAT } }))),
    "input features: contents hold 62 FP32 values, shape needs 93",
  );
  assert.equal(
    await invalidArgumentOf(
      inferRequest("1", FLAT, {
        rawInputContents: [new Uint8Array(10)],
        inputs: [{ name: "features", datatype: "FP32", shape: [2n, 31n] }],
      }),
    ),
    "input features: raw content has 10 bytes, shape and FP32 need 248",
  );
  assert.equal(
    await invalidArgumentOf(inferRequest("1", FLAT, input({ name: "x" }))),
    'unknown input "x"; the model\'s input is features',
  );
  assert.equal(
    await invalidArgumentOf(inferRequest("1", FLAT, { inputs: [] })),
    "model credit-default takes 1 input (features), got 0",
  );
  assert.equal(
    await invalidArgumentOf(inferRequest("1", FLAT, { outputs: [{ name: "label" }] })),
    'unknown output "label"; the model\'s outputs are probability',
  );
});

test("an unknown model or version is NOT_FOUND", async () => {
  const model = await rejectionOf(worker.modelInfer({ ...inferRequest("1", FLAT), modelName: "nope" }));
  assert.deepEqual([model.code, model.rawMessage], [Code.NotFound, 'model "nope" is not served here']);
  const version = await rejectionOf(worker.modelInfer(inferRequest("9", FLAT)));
  assert.deepEqual(
    [version.code, version.rawMessage],
    [Code.NotFound, 'model credit-default version "9" is not loaded (loaded: 1, 2, 3, 4, 5)'],
  );
});

test("ModelStatistics counts the rows and executions of each version, filtered by name and version", async () => {
  const statsOf2 = async () => (await worker.modelStatistics({ name: MODEL, version: "2" })).modelStats;
  const [before] = await statsOf2();
  await worker.modelInfer(inferRequest("2", FLAT));
  const now = await statsOf2();
  assert.equal(now.length, 1);
  const [stats] = now;
  assert.deepEqual([stats!.name, stats!.version], [MODEL, "2"]);
  assert.equal(stats!.inferenceCount - before!.inferenceCount, 2n);
  assert.equal(stats!.executionCount - before!.executionCount, 1n);
  assert.equal((stats!.inferenceStats?.success?.count ?? 0n) - (before!.inferenceStats?.success?.count ?? 0n), 1n);
  const all = await worker.modelStatistics({});
  assert.deepEqual(
    all.modelStats.map((s) => s.version),
    ["1", "2", "3", "4", "5"],
  );
  const unknown = await rejectionOf(worker.modelStatistics({ name: "nope" }));
  assert.deepEqual([unknown.code, unknown.rawMessage], [Code.NotFound, 'model "nope" is not served here']);
});

/** The worker's routes over the real registry, its `infer` failing with `err` (as a batcher would) for this test. */
function failingWorker(t: TestContext, err: Error, onQueueFull: () => void) {
  registry.infer = () => Promise.reject(err);
  t.after(() => Reflect.deleteProperty(registry, "infer"));
  return inProcessClient(
    GRPCInferenceService,
    inferenceRoutes(registry, () => true, onQueueFull),
  );
}

test("a full batch queue is RESOURCE_EXHAUSTED with a google.rpc.RetryInfo, and turns health off", async (t) => {
  let refusals = 0;
  const err = await rejectionOf(
    failingWorker(t, new QueueFullError(300, 250), () => refusals++).modelInfer(inferRequest("1", FLAT)),
  );
  assert.equal(err.code, Code.ResourceExhausted);
  assert.match(err.rawMessage, /^model credit-default version 1 is overloaded: batch queue full \(300 rows waiting\)/);
  const retry = err.details.find((d) => "type" in d && d.type === RETRY_INFO_TYPE);
  assert.ok(retry && "value" in retry && retry.value instanceof Uint8Array);
  assert.equal(readRetryDelayMs(retry.value), 250);
  assert.equal(refusals, 1);
});

test("a deadline passed in the batch queue is DEADLINE_EXCEEDED", async (t) => {
  const err = await rejectionOf(
    failingWorker(t, new DeadlineExpiredError(12), () => assert.fail("not a refusal")).modelInfer(
      inferRequest("1", FLAT),
    ),
  );
  assert.deepEqual(
    [err.code, err.rawMessage],
    [Code.DeadlineExceeded, "deadline passed after 12.0 ms in the batch queue; not run"],
  );
});
