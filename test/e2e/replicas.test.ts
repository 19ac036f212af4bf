import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ConnectError } from "@connectrpc/connect";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

/**
 * Replicas on every hop (`npm start -- --replicas 2`): two feature services, two routers and two model workers,
 * each hop balancing over the next one's replicas. Under steady load, one replica of each is SIGKILLed in turn;
 * no call may fail.
 */
let fx: MeshFixture;

before(async () => {
  fx = await startMeshFixture({ LOG_LEVEL: "warn" }, { features: 2, routers: 2, workers: 2 });
});

after(async () => {
  await fx?.close();
});

/** Scores with `callers` concurrent callers until `stop` resolves; every outcome kept. */
async function load(callers: number, stop: Promise<void>) {
  const rows = creditRows(200);
  let done = false;
  void stop.then(() => (done = true));
  const failures: string[] = [];
  let ok = 0;
  let degraded = 0;
  let next = 0;
  const caller = async () => {
    while (!done) {
      try {
        const r = await fx.scoring.score(
          { model: "credit-default", inputs: rows[next++ % rows.length]! },
          { timeoutMs: 2000 },
        );
        ok++;
        if (r.degraded) degraded++;
      } catch (err) {
        failures.push(ConnectError.from(err).message);
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  return { ok, degraded, failures };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("one feature, one router and one model worker replica SIGKILLed under load: no call fails", async () => {
  const killed: string[] = [];
  const killInTurn = (async () => {
    await sleep(1500);
    for (const name of ["feature-2", "router-2", "model-worker-2"]) {
      const child = fx.mesh.processes.get(name as never);
      assert.ok(child?.pid, `no process ${name}`);
      child.kill("SIGKILL");
      killed.push(name);
      await sleep(1500);
    }
  })();
  const result = await load(32, killInTurn);
  assert.deepEqual(killed, ["feature-2", "router-2", "model-worker-2"]);
  assert.ok(result.ok > 100, `only ${result.ok} calls answered`);
  assert.deepEqual(
    result.failures.slice(0, 5),
    [],
    `${result.failures.length} of ${result.ok + result.failures.length} calls failed`,
  );
  console.log(`replicas: ${result.ok} calls, 0 failed, ${result.degraded} degraded while three replicas were killed`);
});
