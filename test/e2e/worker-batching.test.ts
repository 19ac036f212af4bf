/**
 * The model worker's dynamic batcher seen from a client: a full queue answers RESOURCE_EXHAUSTED with a
 * google.rpc.RetryInfo, and a request whose deadline passes in the queue is dropped, never run (ModelStatistics
 * counts only the rows that ran). Starts nats-server and one worker process on random ports.
 *
 * The worker is also asked for `cuda,cpu`: without the CUDA provider installed it must serve on CPU and say so.
 *
 * The worker runs with a long queue delay (300 ms) and small limits, so that what waits in the queue does not
 * depend on timing: a 3-row and a 2-row request sent together do not both fit in the 4-row queue, and the
 * one that does waits for the delay (its batch is not full).
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { PROJECT_ROOT, spawnService } from "../../deploy/local/mesh.js";
import { stopProcess, type NatsServer } from "../../deploy/local/nats-server.js";
import { startKeyedNats } from "../support/nats-keys.js";
import { bootstrapControl } from "../../deploy/local/control-bootstrap.js";
import { freePort } from "../../deploy/local/ports.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { HealthProbe, createGrpcTransport, type ClosableTransport } from "../../services/lib/rpc/index.js";
import { testTls, type TestTls } from "../support/tls.js";
import { readRetryDelayMs, RETRY_INFO_TYPE } from "../../services/lib/rpc/index.js";
import { cudaProviderInstalled } from "../../services/model-worker/execution-providers.js";

const MODEL = "credit-default";
const VERSION = "1";
const cols = new ModelRepository(join(PROJECT_ROOT, "models")).card(MODEL, VERSION).features.length;

let dir: string;
let nats: NatsServer;
let worker: ChildProcess;
let address: string;
let transport: ClosableTransport;
let tls: TestTls;
let client: Client<typeof GRPCInferenceService>;

before(
  async () => {
    dir = mkdtempSync(join(tmpdir(), "scoremesh-e2e-batching-"));
    const keyed = await startKeyedNats(dir);
    nats = keyed.server;
    // What the launcher does before any service starts: the control identity creates and seeds the policy bucket.
    await bootstrapControl(nats.url, keyed.keys, join(PROJECT_ROOT, "models"));
    address = `127.0.0.1:${await freePort()}`;
    tls = testTls(dir, ["model-worker"]);
    worker = spawnService("model-worker", {
      ...tls.env,
      ...tls.serviceEnv("model-worker"),
      WORKER_ADDR: address,
      NATS_URL: nats.url,
      NATS_NKEY_SEED_FILE: keyed.keys.seedFile["model-worker"],
      SCOREMESH_TRUSTED_OPERATORS_FILE: keyed.keys.trustedOperatorsFile,
      MODEL_REPOSITORY: join(PROJECT_ROOT, "models"),
      WORKER_MODELS: MODEL,
      WORKER_MAX_BATCH_ROWS: "4",
      WORKER_MAX_QUEUE_ROWS: "4",
      WORKER_MAX_QUEUE_DELAY_US: "300000",
      WORKER_EXECUTION_PROVIDERS: "cuda,cpu",
      LOG_LEVEL: "warn",
    });
    const probe = new HealthProbe(address, tls.credentials);
    try {
      for (let i = 0; (await probe.check("", 500)) !== "SERVING"; i++) {
        assert.ok(i < 300 && worker.exitCode === null, "the worker did not report SERVING");
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      probe.close();
    }
    transport = createGrpcTransport({ address, credentials: tls.credentials });
    client = createClient(GRPCInferenceService, transport);
  },
  { timeout: 40_000 },
);

after(async () => {
  transport?.close();
  if (worker) await stopProcess(worker, 10_000);
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const infer = (rows: number, timeoutMs = 5000) =>
  client.modelInfer(
    {
      modelName: MODEL,
      modelVersion: VERSION,
      inputs: [{ name: "features", datatype: "FP32", shape: [BigInt(rows), BigInt(cols)] }],
      rawInputContents: [new Uint8Array(new Float32Array(rows * cols).buffer)],
    },
    { timeoutMs },
  );

async function rowsRun(): Promise<{ rows: number; executions: number; failed: number }> {
  const s = (await client.modelStatistics({ name: MODEL, version: VERSION })).modelStats[0]!;
  return {
    rows: Number(s.inferenceCount),
    executions: Number(s.executionCount),
    failed: Number(s.inferenceStats?.fail?.count ?? 0n),
  };
}

test(
  "a full queue answers RESOURCE_EXHAUSTED with a RetryInfo; what was queued still runs",
  { timeout: 20_000 },
  async () => {
    const before = await rowsRun();
    // Connected before the burst, so that asking for health after the refusal costs no TLS handshake.
    const probe = new HealthProbe(address, tls.credentials);
    try {
      assert.equal(await probe.check(""), "SERVING", "idle before the burst");
      // 3 + 2 rows do not fit in the 4-row queue: whichever arrives second is refused, the other waits and runs.
      const calls = [infer(3), infer(2)];
      const firstRefusal = Promise.any(
        calls.map((c) =>
          c.then(
            () => Promise.reject(new Error("answered, not refused")),
            (e: unknown) => e,
          ),
        ),
      );
      const refusal = await firstRefusal.catch(() => undefined);
      // Asked while the accepted request still waits out its 300 ms queue delay: a worker that had to refuse reports
      // NOT_SERVING (routers stop sending to it), and SERVING once drained.
      const saturatedStatus = refusal === undefined ? "(nothing refused)" : await probe.check("");
      const results = await Promise.allSettled(calls);
      const ok = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ rows: [3, 2][i]!, res: r.value }] : []));
      const refused = results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason)] : []));
      assert.equal(ok.length, 1, `one request runs: ${refused.map((e) => e.message).join("; ")}`);
      assert.equal(refused.length, 1, "one request is refused");
      const err = refused[0]!;
      assert.equal(err.code, Code.ResourceExhausted, err.message);
      const retry = err.details.find((d) => "type" in d && d.type === RETRY_INFO_TYPE);
      assert.ok(retry && "value" in retry, `no ${RETRY_INFO_TYPE} detail: ${JSON.stringify(err.details)}`);
      assert.ok(
        retry.value instanceof Uint8Array && readRetryDelayMs(retry.value) >= 1,
        "the retry hint is at least 1 ms",
      );
      assert.equal(saturatedStatus, "NOT_SERVING", "saturated: health says so at once");
      let status = "";
      for (let i = 0; i < 50 && status !== "SERVING"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await probe.check("");
      }
      assert.equal(status, "SERVING", "back to SERVING once the queue drained");
      assert.deepEqual(ok[0]!.res.outputs[0]?.shape, [BigInt(ok[0]!.rows), 1n]);
      const now = await rowsRun();
      assert.equal(now.rows - before.rows, ok[0]!.rows, "only the accepted request's rows ran");
    } finally {
      probe.close();
    }
  },
);

test("a request whose deadline passes in the queue is dropped, not run", { timeout: 20_000 }, async () => {
  const before = await rowsRun();
  const err = await infer(1, 100).then(
    () => assert.fail("the request should have outlived its deadline in the queue"),
    (e: unknown) => ConnectError.from(e),
  );
  assert.equal(err.code, Code.DeadlineExceeded, err.message);
  await new Promise((r) => setTimeout(r, 400)); // past the queue delay: had it stayed queued, it would have run by now
  const now = await rowsRun();
  assert.equal(now.rows, before.rows, "no row ran");
  assert.equal(now.executions, before.executions, "no execution");
  assert.equal(now.failed - before.failed, 1, "counted as failed");
});

test(
  "asked for CUDA where its provider is not installed, the worker serves on CPU and says so",
  { timeout: 10_000 },
  async () => {
    const { extensions } = await client.serverMetadata({});
    if (cudaProviderInstalled()) {
      assert.ok(extensions.includes("execution_provider:cuda"), `extensions: ${extensions.join(", ")}`);
    } else {
      assert.ok(extensions.includes("execution_provider:cpu"), `extensions: ${extensions.join(", ")}`);
      assert.ok(extensions.includes("execution_provider_fallback:cuda"), `extensions: ${extensions.join(", ")}`);
    }
    assert.ok(extensions.includes("statistics"));
  },
);
