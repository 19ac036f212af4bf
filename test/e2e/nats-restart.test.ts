import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import type { InstanceName } from "../../deploy/local/mesh.js";
import { buildVector, specHash, ModelRepository } from "../../services/lib/model/index.js";
import { createGrpcTransport, type ClosableTransport } from "../../services/lib/rpc/index.js";
import { breakerTarget } from "../../services/router/breakers/breakers.js";
import { creditRows } from "../support/credit-data.js";
import {
  breakerAdoption,
  CHAOS_ENV,
  load,
  loadSummary,
  sleep,
  startMeshFixture,
  waitFor,
  type LoadAnswer,
  type MeshFixture,
} from "../support/mesh-fixture.js";

const MODEL = "credit-default";
/** Set before the restart (not the seed champion, not the light fallback): must still be in force after it. */
const BEFORE = "4";
/** Set after the restart: both routers must adopt it, so the policy watches came back. */
const AFTER = "2";
/** How long nats-server stays down. */
const DOWN_MS = 1500;
/** Processes that must hold a NATS connection (the KV watches); any other that logged one must reconnect too. */
const NATS_CLIENTS: InstanceName[] = ["router", "router-2", "model-worker", "model-worker-2"];

describe("NATS SIGKILLed under load and restarted on the same port and store", () => {
  let fx: MeshFixture;
  let routerTransport: ClosableTransport;
  /** A Route call straight to router-2 (the feature service only calls the first router). */
  let viaRouter2: (inputs: Record<string, number>, timeoutMs: number) => Promise<LoadAnswer>;

  before(async () => {
    fx = await startMeshFixture(CHAOS_ENV, { workers: 2, routers: 2 });
    const spec = new ModelRepository(fx.mesh.env["MODEL_REPOSITORY"]!).spec(MODEL);
    const featureSpecHash = specHash(spec);
    routerTransport = createGrpcTransport({
      address: fx.mesh.addressOf("router-2"),
      credentials: fx.mesh.credentials("router-2"),
    });
    const router2 = createClient(RouterService, routerTransport);
    let n = 0;
    viaRouter2 = async (inputs, timeoutMs) => {
      const res = await router2.route(
        {
          model: MODEL,
          featureSpecHash,
          rows: [{ requestId: `router-2-${n++}`, features: Array.from(buildVector(spec, inputs).vector) }],
        },
        { timeoutMs },
      );
      return res.decisions[0]!;
    };
  });
  after(async () => {
    routerTransport?.close();
    await fx?.close();
  });

  /** The model version each router answers with now: the first router through the public API, router-2 directly. */
  const versionsNow = async () => {
    const [inputs] = creditRows(1);
    const [a, b] = await Promise.all([
      fx.scoring.score({ model: MODEL, inputs: inputs! }, { timeoutMs: 2000 }),
      viaRouter2(inputs!, 2000),
    ]);
    return [a.modelVersion, b.modelVersion];
  };
  /**
   * Sets the champion with meshctl and resolves with the ms from meshctl's exit (the policy is in the bucket)
   * until both routers answer with it; fails after `timeoutMs`.
   */
  const setChampion = async (version: string, timeoutMs: number) => {
    const r = await fx.meshctl("set-champion", MODEL, version);
    assert.equal(r.code, 0, r.stderr);
    const t0 = performance.now();
    for (;;) {
      const v = await versionsNow();
      if (v.every((x) => x === version)) return performance.now() - t0;
      if (performance.now() - t0 > timeoutMs)
        assert.fail(`routers answer with versions ${v.join(", ")} ${timeoutMs} ms after set-champion ${version}`);
      await sleep(50);
    }
  };

  test("a champion set before the restart is in force on both routers", async () => {
    const ms = await setChampion(BEFORE, 10_000);
    console.log(
      `# before the restart: champion ${BEFORE} adopted by both routers ${ms.toFixed(0)} ms after set-champion`,
    );
  });

  test("NATS SIGKILLed and restarted under load: no call fails, every NATS client reconnects, the champion set before survives, one set right after is adopted by both routers", async () => {
    const pub = load(fx);
    const direct = load(fx, { callers: 2, call: viaRouter2 });
    try {
      await sleep(1500);
      const clients = fx.mesh.instances.filter((i) => fx.logLines(i).some((x) => x["msg"] === "connected to NATS"));
      assert.deepEqual(
        NATS_CLIENTS.filter((i) => !clients.includes(i)),
        [],
        `connected to NATS: ${clients.join(", ")}`,
      );
      const killedAt = Date.now();
      await fx.mesh.stopNats("SIGKILL");
      await sleep(DOWN_MS);
      await fx.mesh.startNats();
      const readyAt = Date.now();
      const readyMark = performance.now();
      // What the restarted server read back from its store, before anyone writes to it again.
      const policy = fx.meshctl("policy", MODEL, "--json");
      const reconnected = await waitFor(
        `every NATS client (${clients.join(", ")}) to log its reconnect`,
        () => {
          const at = clients.map((i) =>
            fx
              .logLines(i)
              .find(
                (x) =>
                  x["msg"] === "NATS connection status" &&
                  x["nats"] === "reconnect" &&
                  Date.parse(x["time"] as string) >= killedAt,
              ),
          );
          return at.every(Boolean) ? at.map((x) => Date.parse(x!["time"] as string) - readyAt) : undefined;
        },
        15_000,
      );
      const { code, stdout, stderr } = await policy;
      assert.equal(code, 0, stderr);
      assert.equal(
        (JSON.parse(stdout) as { championVersion: string }).championVersion,
        BEFORE,
        "the policy survived in the JetStream store",
      );
      // Right away: nats.js alone would bring the KV watches back only after two missed idle heartbeats (5-15 s
      // after the kill); a policy written before that would not reach the routers until then (see kv-watch.ts).
      const setAt = performance.now();
      const adoptedMs = await setChampion(AFTER, 3000);
      await sleep(1000);
      const [s, d] = [await pub.stop(), await direct.stop()];
      const before = (x: typeof s) => [...new Set(x.calls.filter((c) => c.at < setAt).map((c) => c.modelVersion))];
      console.log(
        `# NATS SIGKILLed, down ${readyAt - killedAt} ms; reconnected ${clients.map((i, k) => `${i} ${reconnected[k]} ms`).join(", ")} after it was ready`,
      );
      console.log(
        `# champion ${AFTER} set (meshctl started) ${(setAt - readyMark).toFixed(0)} ms after NATS was ready: adopted by both routers ${adoptedMs.toFixed(0)} ms after set-champion`,
      );
      console.log(`# public API during and after: ${loadSummary(s)}`);
      console.log(`# router-2 directly during and after: ${loadSummary(d)}`);
      assert.deepEqual(s.failed, [], "no public call fails");
      assert.deepEqual(d.failed, [], "no call to router-2 fails");
      assert.deepEqual(
        before(s),
        [BEFORE],
        "until the new champion was set, every public call was answered by the one set before the restart",
      );
      assert.deepEqual(
        before(d),
        [BEFORE],
        "until the new champion was set, every call to router-2 was answered by the one set before the restart",
      );
    } finally {
      await pub.stop();
      await direct.stop();
    }
  });

  test("after the restart, a breaker opened on one router is adopted by the other within 250 ms", async () => {
    const l = load(fx);
    try {
      const victim = fx.mesh.addressOf("model-worker-2");
      const target = breakerTarget(victim, MODEL, AFTER);
      const transport = createGrpcTransport({ address: victim, credentials: fx.mesh.credentials("model-worker-2") });
      const stats = createClient(GRPCInferenceService, transport);
      const rowsOn2 = async () =>
        Number((await stats.modelStatistics({ name: MODEL, version: AFTER })).modelStats[0]?.inferenceCount ?? 0n);
      const base = await rowsOn2();
      const end = Date.now() + 12_000;
      while ((await rowsOn2()) < base + 50 && Date.now() < end) await sleep(100);
      assert.ok((await rowsOn2()) >= base + 50, "worker 2 takes part of the load");
      transport.close();
      fx.mesh.processes.get("model-worker-2")!.kill("SIGKILL");
      const { opener, adopter, adopted, propagationMs } = await breakerAdoption(fx, target);
      await sleep(1000);
      const s = await l.stop();
      console.log(`# after the restart, SIGKILL of one of two workers: ${loadSummary(s)}`);
      console.log(
        `# breaker propagation ${opener} → ${adopter}: ${propagationMs} ms (${adopter}'s own measure: ${String(adopted["propagationMs"])} ms)`,
      );
      assert.deepEqual(s.failed, [], "no client call fails");
      assert.equal(adopted["msg"], "circuit breaker opened by another replica: adopted");
      assert.ok(propagationMs < 250, `adopted ${propagationMs} ms after it opened`);
    } finally {
      await l.stop();
    }
  });
});
