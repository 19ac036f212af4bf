import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { once } from "node:events";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { breakerTarget } from "../../services/router/breakers/breakers.js";
import { creditRows } from "../support/credit-data.js";
import {
  breakerAdoption,
  CHAOS_ENV,
  latencyQuantile,
  load,
  loadSummary,
  sleep,
  startMeshFixture,
  waitFor,
  type MeshFixture,
} from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const DEADLINE_MS = 2000;
/** p99 windows around the SIGKILL of a worker (the issue asks for "the minute after"; CI cannot wait a minute). */
const P99_BEFORE_MS = 6000;
const P99_AFTER_MS = 8000;
/**
 * The baseline below which "3× p99" is not compared: on an idle machine p99 can be 2-3 ms, and 3× that is noise
 * (a GC pause, a scheduler tick on a 2-core CI runner), not a regression.
 */
const P99_FLOOR_MS = 5;

describe("resilience: breakers shared across routers, the fallback cascade under chaos", () => {
  let fx: MeshFixture;

  before(async () => {
    fx = await startMeshFixture(CHAOS_ENV, { workers: 2, routers: 2 });
  });
  after(async () => {
    await fx?.close();
  });

  test("two workers under steady load, one SIGKILLed: no client call fails; the other router adopts the open breaker within 250 ms; p99 after the kill within 3× p99 before", async () => {
    const l = load(fx);
    // The first second (connections, JIT, the routers' first health polls) is not the steady state.
    const steadyFrom = performance.now() + 1000;
    try {
      const victim = fx.mesh.addressOf("model-worker-2");
      const target = breakerTarget(victim, MODEL, "3");
      // Both workers must be taking the load first (the router may have polled worker 2 before it was serving).
      const transport = createGrpcTransport({ address: victim, credentials: fx.mesh.credentials("model-worker-2") });
      const stats = createClient(GRPCInferenceService, transport);
      const rowsOn2 = async () =>
        Number((await stats.modelStatistics({ name: MODEL, version: "3" })).modelStats[0]?.inferenceCount ?? 0n);
      const base = await rowsOn2();
      const end = Date.now() + 12_000;
      while ((await rowsOn2()) < base + 50 && Date.now() < end) await sleep(100);
      assert.ok((await rowsOn2()) >= base + 50, "worker 2 takes part of the load");
      transport.close();
      await sleep(steadyFrom + P99_BEFORE_MS - performance.now());
      const killedAt = performance.now();
      fx.mesh.processes.get("model-worker-2")!.kill("SIGKILL");
      const { opener, adopter, adopted, propagationMs } = await breakerAdoption(fx, target);
      await sleep(Math.max(2000, killedAt + P99_AFTER_MS - performance.now()));
      const s = await l.stop();
      const before = latencyQuantile(s, 0.99, killedAt - P99_BEFORE_MS, killedAt);
      const after = latencyQuantile(s, 0.99, killedAt, killedAt + P99_AFTER_MS);
      const p99Line =
        `p99 ${before.ms.toFixed(1)} ms over the ${P99_BEFORE_MS / 1000} s before the kill (${before.calls} calls), ` +
        `${after.ms.toFixed(1)} ms over the ${P99_AFTER_MS / 1000} s from the kill (${after.calls} calls); ` +
        `bound 3 × max(before, ${P99_FLOOR_MS} ms) = ${(3 * Math.max(before.ms, P99_FLOOR_MS)).toFixed(1)} ms`;
      console.log(`# SIGKILL of one of two workers: ${loadSummary(s)}`);
      console.log(
        `# breaker propagation ${opener} → ${adopter}: ${propagationMs} ms (${adopter}'s own measure: ${String(adopted["propagationMs"])} ms)`,
      );
      console.log(`# ${p99Line}`);
      assert.deepEqual(s.failed, [], "no client call fails");
      assert.ok(propagationMs < 250, `adopted ${propagationMs} ms after it opened`);
      assert.ok(
        before.calls >= 100 && after.calls >= 100,
        `enough calls in both windows (${before.calls}, ${after.calls})`,
      );
      assert.ok(after.ms <= 3 * Math.max(before.ms, P99_FLOOR_MS), p99Line);
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
      console.log(`# every worker killed: ${loadSummary(s)}`);
      assert.deepEqual(s.failed, [], "every call is answered");
      assert.equal(s.nonPrimaryAfter, 0, "with no worker, every answer is degraded and not from the champion");
      assert.ok((s.routes.get("RULES") ?? 0) > 0, "the rules baseline answered");
      assert.ok(s.maxMs < DEADLINE_MS, `slowest call ${s.maxMs.toFixed(0)} ms, deadline ${DEADLINE_MS} ms`);
      await sleep(300); // the router sends records every 100 ms
      const metrics = await (await fetch(`http://${fx.mesh.env["MONITOR_HTTP_ADDR"]}/metrics`)).text();
      assert.match(
        metrics,
        /route="rules"[^\n]*degraded="true"|degraded="true"[^\n]*route="rules"/,
        "the monitor counts rules decisions",
      );
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
        () =>
          fx
            .logLines("router")
            .find((x) => x["target"] === target && x["from"] === "HALF_OPEN" && x["to"] === "CLOSED"),
        5_000,
      );
      const s = await l.stop();
      console.log(
        `# worker restarted: ${loadSummary(s)}; champion answers again ${(s.firstPrimaryAt - t0).toFixed(0)} ms after the restart began (breaker closed at epoch ${String(closed["epoch"])})`,
      );
      assert.deepEqual(s.failed, []);
    } finally {
      await l.stop();
    }
  });

  test("the monitor SIGKILLed under load: no call fails; the router keeps the records and the restarted monitor gets every one", async () => {
    const auditFile = fx.mesh.env["MONITOR_AUDIT_LOG"]!;
    /** Request ids in the audit log between two byte offsets, one per line, in order. */
    const auditIds = (from = 0, to?: number) =>
      readFileSync(auditFile)
        .subarray(from, to)
        .toString("utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => String((JSON.parse(l) as { requestId?: string }).requestId));
    const rows = creditRows(64);
    const answered: { id: string; startedAt: number }[] = [];
    const failed: string[] = [];
    let stop = false;
    let n = 0;
    let maxMs = 0;
    const caller = async () => {
      while (!stop) {
        const id = `monitor-chaos-${n++}`;
        const t0 = performance.now();
        try {
          await fx.scoring.score(
            { model: MODEL, requestId: id, inputs: rows[n % rows.length]! },
            { timeoutMs: DEADLINE_MS },
          );
          answered.push({ id, startedAt: t0 });
        } catch (err) {
          failed.push(`${Code[ConnectError.from(err).code]}: ${ConnectError.from(err).rawMessage}`);
          await sleep(20);
        }
        maxMs = Math.max(maxMs, performance.now() - t0);
      }
    };
    const callers = Array.from({ length: 4 }, () => caller());
    try {
      await sleep(500);
      const monitor = fx.mesh.processes.get("monitor")!;
      const exited = once(monitor, "exit");
      monitor.kill("SIGKILL");
      await exited;
      const killedAt = performance.now();
      // Everything before this offset was written by the monitor that was killed; the rest by the restarted one.
      const offset = readFileSync(auditFile).length;
      await sleep(1500);
      await fx.mesh.startService("monitor");
      const servingAt = performance.now();
      await sleep(1000);
      stop = true;
      await Promise.all(callers);

      // Calls that started after the monitor was dead can only have reached the restarted one.
      const mustBeNew = answered.filter((a) => a.startedAt >= killedAt).map((a) => a.id);
      const caughtUp = await waitFor(
        "the restarted monitor to receive every record the router kept",
        () => {
          const fresh = new Set(auditIds(offset));
          return mustBeNew.every((id) => fresh.has(id)) ? performance.now() : undefined;
        },
        20_000,
      );
      await sleep(300); // records still queued from the last calls
      const freshIds = auditIds(offset);
      const all = new Set(auditIds());
      const t = createGrpcTransport({
        address: fx.mesh.addressOf("monitor"),
        credentials: fx.mesh.credentials("monitor"),
      });
      const stats = await createClient(MonitorService, t).getStats({}, { timeoutMs: 2000 });
      t.close();
      const dropWarnings = ["router", "router-2"].flatMap((r) =>
        fx.logLines(r).filter((x) => x["msg"] === "decision records not delivered to the monitor"),
      );
      const oldIds = new Set(auditIds(0, offset));
      const duplicates = freshIds.filter((id) => oldIds.has(id)).length;
      console.log(
        `# monitor SIGKILLed under load: ${answered.length} answered, ${failed.length} failed, slowest ${maxMs.toFixed(0)} ms; ` +
          `${mustBeNew.length} calls started while or after it was down; restarted monitor counted ${stats.decisionsTotal} records ` +
          `(${freshIds.length - mustBeNew.length} queued before the kill or sent twice, ${duplicates} of them already logged by the killed one), ` +
          `all delivered ${(caughtUp - servingAt).toFixed(0)} ms after it was SERVING; dropped by the routers: ${dropWarnings.length}`,
      );
      assert.deepEqual(failed, [], "scoring is unaffected");
      assert.ok(maxMs < DEADLINE_MS, `slowest call ${maxMs.toFixed(0)} ms`);
      assert.deepEqual(dropWarnings, [], "the router's queue did not overflow: nothing was dropped");
      assert.deepEqual(
        answered.filter((a) => !all.has(a.id)).map((a) => a.id),
        [],
        "every answered call is in the audit log",
      );
      assert.equal(
        stats.decisionsTotal,
        BigInt(freshIds.length),
        "the restarted monitor counted exactly what it logged",
      );
      assert.ok(freshIds.length >= mustBeNew.length, "it got every decision made since the kill");
      assert.equal(new Set(freshIds).size, freshIds.length, "the restarted monitor got no record twice");
      const ours = new Set(answered.map((a) => a.id));
      assert.deepEqual(
        freshIds.filter((id) => !ours.has(id)),
        [],
        "it got only records of these calls",
      );
      // So: restarted monitor's count = calls the killed monitor never logged + records both logged (at-least-once).
      assert.equal(freshIds.length, answered.filter((a) => !oldIds.has(a.id)).length + duplicates);
    } finally {
      stop = true;
      await Promise.all(callers);
    }
  });
});
