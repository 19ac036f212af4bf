import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { createGrpcTransport, type ClosableTransport } from "../../services/lib/rpc/index.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
/** The worker holds a lone request this long for a fuller batch: long enough for its caller to give up first. */
const QUEUE_DELAY_MS = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Deadlines end to end: every hop passes on the caller's remaining time and its cancellation, so once the caller
 * has gone nothing downstream keeps working on its request. The worker is made to hold requests in its batch
 * queue (WORKER_MAX_QUEUE_DELAY_US) so that the caller is certain to be gone while its row still waits there.
 */
describe("deadlines: no service keeps working on a request whose caller has gone", () => {
  let fx: MeshFixture;
  let workerTransport: ClosableTransport;
  let worker: Client<typeof GRPCInferenceService>;
  const rows = creditRows(10);

  /** Rows each version of the model has run, by the worker's Triton statistics. */
  async function rowsRun(): Promise<Map<string, number>> {
    const s = await worker.modelStatistics({ name: MODEL }, { timeoutMs: 2000 });
    return new Map(s.modelStats.map((m) => [m.version, Number(m.inferenceCount)]));
  }
  async function decisions(): Promise<bigint> {
    await sleep(300); // the router sends its records every 100 ms
    return (await fx.monitor.getStats({}, { timeoutMs: 2000 })).decisionsTotal;
  }

  before(async () => {
    fx = await startMeshFixture({ WORKER_MAX_QUEUE_DELAY_US: String(QUEUE_DELAY_MS * 1000) });
    workerTransport = createGrpcTransport({
      address: fx.mesh.env["WORKER_ADDR"]!,
      credentials: fx.mesh.credentials("model-worker"),
    });
    worker = createClient(GRPCInferenceService, workerTransport);
    // One call that waits the worker's queue delay out: the path works, and is warm.
    const res = await fx.scoring.score({ model: MODEL, inputs: rows[0]! }, { timeoutMs: 5000 });
    assert.equal(res.route, Route.PRIMARY);
  });
  after(async () => {
    workerTransport?.close();
    await fx?.close();
  });

  test("a client that cancels while its row waits in the worker's queue: the cancellation reaches the worker, which never runs the row; no decision is recorded", async () => {
    const runBefore = await rowsRun();
    const decidedBefore = await decisions();
    const ac = new AbortController();
    const started = performance.now();
    const call = fx.scoring.score(
      { model: MODEL, requestId: "gone-1", inputs: rows[1]! },
      { timeoutMs: 5000, signal: ac.signal },
    );
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(call, (e: unknown) => ConnectError.from(e).code === Code.Canceled);
    assert.ok(performance.now() - started < QUEUE_DELAY_MS, "the client got its answer when it cancelled");
    await sleep(QUEUE_DELAY_MS + 300);
    assert.deepEqual(await rowsRun(), runBefore, "no model version ran the cancelled row (nor a fallback for it)");
    assert.equal(await decisions(), decidedBefore, "no decision was made for a caller that has gone");
  });

  test("a client deadline shorter than the worker's wait: the cascade answers by the rules within the deadline; the worker runs neither abandoned row", async () => {
    const runBefore = await rowsRun();
    const started = performance.now();
    const res = await fx.scoring.score({ model: MODEL, requestId: "short-1", inputs: rows[2]! }, { timeoutMs: 150 });
    const tookMs = performance.now() - started;
    assert.equal(res.route, Route.RULES, "the champion and the fallback model could not answer in time");
    assert.equal(res.degraded, true);
    assert.ok(tookMs < 150, `answered within the deadline (${tookMs.toFixed(0)} ms)`);
    await sleep(QUEUE_DELAY_MS + 300);
    assert.deepEqual(
      await rowsRun(),
      runBefore,
      "the rows the router gave up on were dropped from the worker's queue, not run",
    );
    // The check above can fail: a call that waits gets its row run, and counted.
    const ok = await fx.scoring.score({ model: MODEL, inputs: rows[3]! }, { timeoutMs: 5000 });
    const runAfter = await rowsRun();
    assert.equal(
      runAfter.get(ok.modelVersion),
      (runBefore.get(ok.modelVersion) ?? 0) + 1,
      "a call that waits is run and counted",
    );
    console.log(
      `# deadline 150 ms: answered by the rules in ${tookMs.toFixed(0)} ms; the worker ran none of the abandoned rows`,
    );
  });

  test("calls with different deadlines in flight together: each is answered within its own, the short one by the rules and the others by the champion", async () => {
    const longs = Array.from({ length: 6 }, (_, i) =>
      fx.scoring.score({ model: MODEL, requestId: `long-${i}`, inputs: rows[4 + (i % 5)]! }, { timeoutMs: 5000 }),
    );
    const started = performance.now();
    const short = await fx.scoring.score({ model: MODEL, requestId: "short-2", inputs: rows[2]! }, { timeoutMs: 150 });
    const tookMs = performance.now() - started;
    assert.equal(short.route, Route.RULES, "the short call did not wait for the champion's 400 ms");
    assert.ok(tookMs < 150, `answered within its deadline (${tookMs.toFixed(0)} ms)`);
    for (const res of await Promise.all(longs))
      assert.equal(res.route, Route.PRIMARY, `${res.requestId}: the champion answered the patient callers`);
  });
});
