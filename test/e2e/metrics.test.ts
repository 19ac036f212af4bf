/**
 * Metrics everywhere, with real processes: every service serves Prometheus metrics on its own port (the monitor on
 * its page); after a few scored calls, one bad call and one unauthenticated call, each service's request counters
 * moved, the errors carry their gRPC codes, and the validator's edge labels its calls with the tenant and model.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { DEV_TENANT } from "../../deploy/local/dev-tenant.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture, waitFor, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const rows = creditRows(8);

/** The value of the first series of `name` whose labels include every one of `labels`; undefined when none. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{")) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("metrics everywhere", () => {
  let fx: MeshFixture;
  const scrape = async (instance: string) => {
    const res = await fetch(fx.mesh.metricsUrlOf(instance as never));
    assert.equal(res.status, 200, `${instance} /metrics`);
    return res.text();
  };

  before(async () => {
    fx = await startMeshFixture();
    for (let i = 0; i < 5; i++) await fx.scoring.score({ model: MODEL, inputs: rows[i]! }, { timeoutMs: 5000 });
    const http = await fetch(`${fx.httpBase}/scoremesh.scoring.v1.ScoringService/Score`, {
      method: "POST",
      headers: fx.httpHeaders,
      body: JSON.stringify({ model: MODEL, inputs: rows[5] }),
    });
    assert.equal(http.status, 200);
    const bad = await fx.scoring.score({ model: "no-such-model", inputs: rows[0]! }).catch((e: unknown) => e);
    assert.equal(ConnectError.from(bad).code, Code.InvalidArgument);
    const anonymous = await fetch(`${fx.httpBase}/scoremesh.scoring.v1.ScoringService/Score`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, inputs: rows[0] }),
    });
    assert.equal(anonymous.status, 401);
  });
  after(() => fx?.close());

  test("every service serves its metrics on its own port, with the default Node metrics and its service label", async () => {
    for (const instance of ["validator", "feature", "router", "model-worker"]) {
      const text = await scrape(instance);
      assert.ok(sample(text, "process_cpu_seconds_total", { service: instance }) !== undefined, instance);
      const other = await fetch(fx.mesh.metricsUrlOf(instance as never).replace(/\/metrics$/, "/"));
      assert.equal(other.status, 404, `${instance}: only /metrics`);
    }
    assert.match(await scrape("monitor"), /^rpc_server_requests_total\{/m);
  });

  test("the request counters moved at every hop, and the bad call has its code", async () => {
    const rpc = (text: string, method: string, code: string) =>
      sample(text, "rpc_server_requests_total", { rpc_method: method, grpc_code: code }) ?? 0;
    const validator = await scrape("validator");
    assert.equal(rpc(validator, "Score", "OK"), 5, "the gRPC listener's calls");
    assert.equal(rpc(validator, "Score", "INVALID_ARGUMENT"), 1);
    assert.ok(rpc(await scrape("feature"), "ScoreRows", "OK") >= 1, "feature");
    assert.ok(rpc(await scrape("router"), "Route", "OK") >= 1, "router");
    assert.ok(rpc(await scrape("model-worker"), "ModelInfer", "OK") >= 1, "model worker");
    await waitFor(
      "the monitor's Record calls",
      async () => rpc(await scrape("monitor"), "Record", "OK") >= 1 || undefined,
      15_000,
    );
    const hist = sample(validator, "rpc_server_duration_seconds_count", { rpc_method: "Score" });
    assert.equal(hist, 6, "every answered gRPC call is timed");
  });

  test("the validator's edge counts both listeners by tenant and model, refusals included", async () => {
    const text = await scrape("validator");
    const edge = (labels: Record<string, string>) => sample(text, "scoremesh_edge_requests_total", labels);
    assert.equal(edge({ listener: "grpc", grpc_code: "OK", tenant: DEV_TENANT, model: MODEL }), 5);
    assert.equal(edge({ listener: "http", grpc_code: "OK", tenant: DEV_TENANT, model: MODEL }), 1);
    assert.equal(edge({ listener: "grpc", grpc_code: "INVALID_ARGUMENT", tenant: DEV_TENANT, model: "unknown" }), 1);
    assert.equal(edge({ listener: "http", grpc_code: "UNAUTHENTICATED", tenant: "none", model: MODEL }), 1);
  });

  test("the hops report their batches, and the router its breakers", async () => {
    const router = await scrape("router");
    assert.match(router, /^scoremesh_router_breaker_state\{[^}]*state="CLOSED"[^}]*\} 1$/m);
    assert.match(router, /^scoremesh_router_retry_budget_refused_total\{/m);
    const worker = await scrape("model-worker");
    assert.ok((sample(worker, "scoremesh_batch_size_rows_count", { batcher: "model-worker" }) ?? 0) >= 1, worker);
  });
});
