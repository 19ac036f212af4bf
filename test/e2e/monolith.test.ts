import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { scoreUntilStopped } from "../support/drain-load.js";
import { Decision } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { creditRows } from "../support/credit-data.js";
import { rejectionOf } from "../support/in-process.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";
import { pythonClient } from "../support/python-client.js";
import { checkPythonOip } from "../support/python-oip.js";

const MODEL = "credit-default";
const SERVICES = ["validator", "feature", "router", "model-worker", "monitor"];

/**
 * Monolithic mode (`npm start -- --monolithic`): the mesh tests' core cases against the five services in one
 * process, and the cross-language OIP case (the Python client). The rest of the e2e suite runs the default mode;
 * the contracts are the same handlers in both.
 */
describe("monolithic mode: the five services in one process", () => {
  let fx: MeshFixture;
  const rows = creditRows(40);

  before(async () => {
    fx = await startMeshFixture({}, { monolithic: true });
  });
  after(async () => {
    await fx?.close();
  });

  test("one process; meshctl status shows the five services SERVING, as in the default mode", async () => {
    assert.equal(new Set(fx.mesh.processes.values()).size, 1, "every instance is the same process");
    assert.equal(fx.mesh.processes.size, 5);
    const status = await fx.meshctl("status", "--json");
    assert.equal(status.code, 0, status.stderr);
    const services = (JSON.parse(status.stdout) as { services: { name: string; health: string }[] }).services;
    assert.deepEqual(
      services.map((s) => [s.name, s.health]),
      SERVICES.map((n) => [n, "SERVING"]),
    );
    const pids = new Set(SERVICES.map((s) => fx.logLines(s).find((l) => l["msg"] === "listening")?.["pid"]));
    assert.deepEqual([...pids], [fx.mesh.processes.get("validator")!.pid], "each service listens, in the one process");
  });

  test("Score with reason codes over gRPC and HTTP; the hops' handlers count their calls as over gRPC", async () => {
    const decisions = new Set<Decision>();
    for (let i = 0; i < 20; i++) {
      const res = await fx.scoring.score(
        { model: MODEL, requestId: `mono-${i}`, inputs: rows[i]!, explain: true },
        { timeoutMs: 5000 },
      );
      assert.equal(res.model, MODEL);
      assert.ok(res.reasons.length > 0, `mono-${i}: reason codes`);
      assert.match(res.traceId, /^[0-9a-f]{32}$/);
      decisions.add(res.decision);
    }
    assert.ok(decisions.size >= 2, "real data reaches more than one decision");
    const http = await fetch(`${fx.httpBase}/scoremesh.scoring.v1.ScoringService/Score`, {
      method: "POST",
      headers: fx.httpHeaders,
      body: JSON.stringify({ model: MODEL, request_id: "mono-http", inputs: rows[20], explain: true }),
    });
    assert.equal(http.status, 200);
    assert.ok(((await http.json()) as { reasons?: unknown[] }).reasons?.length);
    const routed = await okCount(fx.mesh.metricsUrlOf("router"), "scoremesh.router.v1.RouterService", "Route");
    const inferred = await okCount(
      fx.mesh.metricsUrlOf("model-worker"),
      "inference.GRPCInferenceService",
      "ModelInfer",
    );
    assert.ok(routed >= 1 && inferred >= 1, `router Route OK ${routed}, worker ModelInfer OK ${inferred}`);
  });

  test("a decision reaches the monitor's audit log with the call's trace id; bad input names the field", async () => {
    const res = await fx.scoring.score({ model: MODEL, requestId: "mono-traced", inputs: rows[21]! });
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !line; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      line = readFileSync(fx.mesh.env["MONITOR_AUDIT_LOG"]!, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((r) => r["requestId"] === "mono-traced");
    }
    assert.ok(line, "the decision is in the audit log");
    assert.equal(line["traceId"], res.traceId, "router and edge share the call's trace across in-process hops");
    const bad = await rejectionOf(fx.scoring.score({ model: MODEL, inputs: { ...rows[0]!, AGE: -5 } }));
    assert.equal(bad.code, Code.InvalidArgument);
    assert.match(bad.rawMessage, /AGE/);
  });

  test("cross-language: the Python grpcio client scores over the edge and calls the worker's OIP v2", async () => {
    // The OIP case of cross-language.test.ts (its checks: test/support/python-oip.ts) against the one process.
    const py = await pythonClient(() => fx.apiKey);
    try {
      await checkPythonOip(py, fx.mesh.env);
    } finally {
      py.close();
    }
  });

  test("SIGTERM drains every service, the edge first and the monitor last; calls are completed or refused", async () => {
    const child = fx.mesh.processes.get("validator")!;
    const load = scoreUntilStopped(fx.scoring, MODEL, rows);
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    await load.stop();
    assert.ok(load.ok() > 0);
    assert.deepEqual(
      [...new Set(load.codes)],
      load.codes.length ? [Code.Unavailable] : [],
      "no call was cut off mid-way",
    );
    // The one log, in the order the lines were written.
    const lines = readFileSync(join(fx.mesh.logDir, "monolith.log"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const order = lines.filter((l) => l["msg"] === "stopped").map((l) => l["service"]);
    assert.deepEqual(order.slice(-5), SERVICES, "stopped edge first, monitor last");
  });
});

/** rpc_server_requests_total{grpc_code="OK"} of one method on a /metrics page. */
async function okCount(url: string, service: string, method: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const re = new RegExp(
    `^rpc_server_requests_total\\{[^}]*rpc_service="${service.replace(/\./g, "\\.")}",rpc_method="${method}",grpc_code="OK"[^}]*\\} (\\d+)`,
    "m",
  );
  return Number(re.exec(text)?.[1] ?? 0);
}
