import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/grpc-transport.js";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { breakerTarget } from "../../services/router/breakers.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const DEADLINE_MS = 2000;

/** Steady load: `callers` clients scoring in a loop until stopped; every outcome counted. */
function load(fx: MeshFixture, callers = 4) {
  const rows = creditRows(64);
  const s = { ok: 0, failed: [] as string[], routes: new Map<string, number>(), degraded: 0, maxMs: 0, firstPrimaryAt: 0, nonPrimaryAfter: 0 };
  let stop = false;
  let checkFrom = Infinity;
  const run = async (k: number) => {
    for (let i = k; !stop; i += callers) {
      const t0 = performance.now();
      try {
        const res = await fx.scoring.score({ model: MODEL, inputs: rows[i % rows.length]! }, { timeoutMs: DEADLINE_MS });
        s.ok++;
        const name = Route[res.route] ?? String(res.route);
        s.routes.set(name, (s.routes.get(name) ?? 0) + 1);
        if (res.degraded) s.degraded++;
        if (res.route === Route.PRIMARY && !s.firstPrimaryAt) s.firstPrimaryAt = performance.now();
        if (t0 >= checkFrom && (res.route === Route.PRIMARY || !res.degraded)) s.nonPrimaryAfter++;
      } catch (err) {
        s.failed.push(`${Code[ConnectError.from(err).code]}: ${ConnectError.from(err).rawMessage}`);
        await sleep(20);
      }
      s.maxMs = Math.max(s.maxMs, performance.now() - t0);
    }
  };
  const all = Array.from({ length: callers }, (_, k) => run(k));
  return {
    stats: s,
    /** From now on every call must be degraded (not primary); counted in nonPrimaryAfter otherwise. */
    expectDegradedFromNow: () => (checkFrom = performance.now()),
    stop: async () => {
      stop = true;
      await Promise.all(all);
      return s;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON log lines of an instance. */
function logLines(fx: MeshFixture, instance: string): Record<string, unknown>[] {
  return readFileSync(join(fx.mesh.logDir, `${instance}.log`), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe("resilience: breakers shared across routers, the fallback cascade under chaos", () => {
  let fx: MeshFixture;
  const summary = (s: ReturnType<typeof load>["stats"]) =>
    `${s.ok} answered, ${s.failed.length} failed, routes ${JSON.stringify(Object.fromEntries(s.routes))}, degraded ${s.degraded}, slowest ${s.maxMs.toFixed(0)} ms`;

  before(async () => {
    fx = await startMeshFixture(
      {
        ROUTER_BREAKER_WINDOW: "10",
        ROUTER_BREAKER_MIN_CALLS: "5",
        ROUTER_BREAKER_OPEN_MS: "1000",
        // Health is polled only until the workers are up (see DependencyWatch), never again during this file:
        // the breakers, not the health poll, are what takes a dead worker out, so the test has no race with a poll.
        ROUTER_WORKER_HEALTH_INTERVAL_MS: "600000",
      },
      { workers: 2, routers: 2 },
    );
  });
  after(async () => {
    await fx?.close();
  });

  test("two workers under steady load, one SIGKILLed: no client call fails; the other router adopts the open breaker within 250 ms", async () => {
    const l = load(fx);
    try {
      const victim = fx.mesh.addressOf("model-worker-2");
      const target = breakerTarget(victim, MODEL, "3");
      // Both workers must be taking the load first (the router may have polled worker 2 before it was serving).
      const transport = createGrpcTransport({ address: victim });
      const stats = createClient(GRPCInferenceService, transport);
      const rowsOn2 = async () => Number((await stats.modelStatistics({ name: MODEL, version: "3" })).modelStats[0]?.inferenceCount ?? 0n);
      const base = await rowsOn2();
      const end = Date.now() + 12_000;
      while ((await rowsOn2()) < base + 50 && Date.now() < end) await sleep(100);
      assert.ok((await rowsOn2()) >= base + 50, "worker 2 takes part of the load");
      transport.close();
      fx.mesh.processes.get("model-worker-2")!.kill("SIGKILL");
      const opened = await waitFor(
        "router to open the breaker of the killed worker",
        () => logLines(fx, "router").find((x) => x["msg"] === "circuit breaker opened" && x["target"] === target),
        10_000,
      );
      const adopted = await waitFor(
        "router-2 to adopt it",
        () => logLines(fx, "router-2").find((x) => x["target"] === target && x["state"] === "OPEN" && x["epoch"] === opened["epoch"]),
        5_000,
      );
      await sleep(2000);
      const s = await l.stop();
      const propagationMs = Date.parse(adopted["time"] as string) - (opened["at"] as number);
      console.log(`# SIGKILL of one of two workers: ${summary(s)}`);
      console.log(`# breaker propagation router → router-2: ${propagationMs} ms (router-2's own measure: ${String(adopted["propagationMs"])} ms)`);
      assert.deepEqual(s.failed, [], "no client call fails");
      assert.ok(propagationMs < 250, `adopted ${propagationMs} ms after it opened`);
    } finally {
      await l.stop();
    }
  });

  test("every worker killed: every call answered by the cascade, degraded, within the deadline; the monitor counts the route", async () => {
    const l = load(fx);
    try {
      await sleep(500);
      fx.mesh.processes.get("model-worker")!.kill("SIGKILL");
      await sleep(100);
      l.expectDegradedFromNow();
      await sleep(3000);
      const s = await l.stop();
      console.log(`# every worker killed: ${summary(s)}`);
      assert.deepEqual(s.failed, [], "every call is answered");
      assert.equal(s.nonPrimaryAfter, 0, "with no worker, every answer is degraded and not from the champion");
      assert.ok((s.routes.get("RULES") ?? 0) > 0, "the rules baseline answered");
      assert.ok(s.maxMs < DEADLINE_MS, `slowest call ${s.maxMs.toFixed(0)} ms, deadline ${DEADLINE_MS} ms`);
      await sleep(300); // the router sends records every 100 ms
      const metrics = await (await fetch(`http://${fx.mesh.env["MONITOR_HTTP_ADDR"]}/metrics`)).text();
      assert.match(metrics, /route="rules"[^\n]*degraded="true"|degraded="true"[^\n]*route="rules"/, "the monitor counts rules decisions");
    } finally {
      await l.stop();
    }
  });

  test("a worker restarted: traffic returns to it through half-open trial calls", async () => {
    const l = load(fx);
    try {
      await sleep(300);
      const t0 = performance.now();
      await fx.mesh.startService("model-worker");
      const target = breakerTarget(fx.mesh.addressOf("model-worker"), MODEL, "3");
      await waitFor("a decision from the champion again", () => (l.stats.firstPrimaryAt ? true : undefined), 15_000);
      const closed = await waitFor(
        "the router's breaker to close after its half-open trials",
        () => logLines(fx, "router").find((x) => x["target"] === target && x["from"] === "HALF_OPEN" && x["to"] === "CLOSED"),
        5_000,
      );
      const s = await l.stop();
      console.log(`# worker restarted: ${summary(s)}; champion answers again ${(s.firstPrimaryAt - t0).toFixed(0)} ms after the restart began (breaker closed at epoch ${String(closed["epoch"])})`);
      assert.deepEqual(s.failed, []);
    } finally {
      await l.stop();
    }
  });
});
