import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@connectrpc/connect";
import { pino } from "pino";
import { GRPCInferenceService } from "../../../gen/inference/grpc_predict_v2_pb.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { ModelRepository } from "../../../services/lib/model/index.js";
import { ModelRegistry, type LoadedVersion } from "../../../services/model-worker/model-registry.js";
import { inferenceRoutes } from "../../../services/model-worker/routes.js";
import { drainAndRelease } from "../../../services/model-worker/version-unload.js";
import { describeWorker } from "../../../services/model-worker/worker-announcer.js";
import { workerLabels } from "../../../services/model-worker/worker-labels.js";
import type { GoldenFile } from "../../../tools/trainer/golden.js";
import { inProcessClient } from "../../support/in-process.js";

const MODEL = "credit-default";
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const golden = JSON.parse(readFileSync(join(PROJECT_ROOT, "models", MODEL, "golden.json"), "utf8")) as GoldenFile;
const VECTOR = golden.cases[0]!.vector;

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
let worker: Client<typeof GRPCInferenceService>;

before(async () => {
  await registry.sync();
  registry.drain = { quietMs: 50, pollMs: 10 };
  worker = inProcessClient(
    GRPCInferenceService,
    inferenceRoutes(
      registry,
      () => true,
      undefined,
      () => ["gpu"],
    ),
  );
});
after(() => registry.close());

const infer = (version: string) =>
  worker
    .modelInfer({
      modelName: MODEL,
      modelVersion: version,
      inputs: [
        { name: "features", datatype: "FP32", shape: [1n, BigInt(VECTOR.length)], contents: { fp32Contents: VECTOR } },
      ],
    })
    .then((r) => r.outputs.find((o) => o.name === "probability")?.contents?.fp32Contents[0]);

const announced = () =>
  describeWorker(
    {
      address: "w:1",
      host: "h",
      pid: 1,
      startedAt: new Date(0),
      providersRequested: ["cpu"],
      versions: registry.served(),
      fallbacks: new Map(),
      refused: new Map(),
      labels: ["gpu"],
    },
    new Date(0),
  );

test("labels: WORKER_LABELS as given, else gpu when a version runs on CUDA or TensorRT, else cpu; in ServerMetadata and the record", async () => {
  assert.deepEqual(workerLabels(["fast", "cpu"], ["cuda"]), ["fast", "cpu"]);
  assert.deepEqual(workerLabels([], ["cuda", "cpu"]), ["gpu"]);
  assert.deepEqual(workerLabels([], ["tensorrt"]), ["gpu"]);
  assert.deepEqual(workerLabels([], ["cpu"]), ["cpu"]);
  assert.ok((await worker.serverMetadata({})).extensions.includes("worker_label:gpu"));
  assert.deepEqual(announced().labels, ["gpu"]);
});

test("retire: a call in flight finishes, then the session is released and the version leaves ModelReady, metadata and the record", async () => {
  const before = await infer("4");
  assert.equal(typeof before, "number");
  const inFlight = infer("4");
  const retired = registry.retire(MODEL, "4");
  assert.equal(await inFlight, before, "the call in flight answers");
  assert.equal((await worker.modelReady({ name: MODEL, version: "4" })).ready, false, "not ready from the start");
  await retired;
  assert.ok(!registry.list().some((lv) => lv.version === "4"), "released");
  assert.ok(!announced().models.some((m) => m.version === "4"), "not in the worker record");
  const meta = await worker.modelMetadata({ name: MODEL, version: "3" });
  assert.ok(!meta.versions.includes("4") && meta.versions.includes("3"), meta.versions.join(","));
  await registry.sync();
  assert.ok(!registry.list().some((lv) => lv.version === "4"), "sync() does not load a retired version again");
});

test("a call that names a retired version (audit replay) loads it again, scores the same, and is still not announced", async () => {
  const ours = await infer("4");
  assert.equal(typeof ours, "number");
  assert.ok(
    registry.list().some((lv) => lv.version === "4"),
    "loaded for the call",
  );
  assert.ok(!registry.served().some((lv) => lv.version === "4"), "but not served");
  assert.equal((await worker.modelReady({ name: MODEL, version: "4" })).ready, false);
  await registry.retire(MODEL, "4");
  assert.ok(!registry.list().some((lv) => lv.version === "4"), "released again");
});

test("drainAndRelease waits for the calls in flight before it releases the session", async () => {
  let removed = false;
  let released = false;
  const lv = {
    model: MODEL,
    version: "9",
    inFlight: 1,
    ready: true,
    stats: { lastInferenceMs: 0 },
    batcher: undefined,
    session: { release: () => Promise.resolve(void (released = true)) },
  } as unknown as LoadedVersion;
  const done = drainAndRelease(lv, () => (removed = true), { quietMs: 0, pollMs: 5 });
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual([removed, released], [false, false], "nothing removed while a call is in flight");
  lv.inFlight = 0;
  await done;
  assert.deepEqual([removed, released, lv.ready], [true, true, false]);
});
