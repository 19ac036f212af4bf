import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { Counter } from "prom-client";
import { ConfigError, EnvReader } from "../../../../services/lib/service/config.js";
import { readMetricsAddress, ServiceMetrics, startMetricsServer } from "../../../../services/lib/service/metrics.js";
import { readConfig as routerConfig } from "../../../../services/router/config.js";
import { PEER_ENV } from "../../../support/peer-env.js";

function get(port: number, path: string, method = "GET"): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("the metrics server answers GET /metrics with the registry's text, 404 elsewhere, 405 for other methods", async () => {
  const metrics = new ServiceMetrics("router");
  new Counter({ name: "test_things_total", help: "Things.", registers: [metrics.registry] }).inc(3);
  const server = await startMetricsServer(metrics.registry, "127.0.0.1:0");
  try {
    assert.ok(server.port > 0);
    const ok = await get(server.port, "/metrics");
    assert.equal(ok.status, 200);
    assert.match(ok.type, /^text\/plain/);
    assert.match(ok.body, /^test_things_total\{service="router"\} 3$/m);
    assert.match(ok.body, /^process_cpu_seconds_total\{service="router"\} /m, "default Node metrics");
    assert.match(ok.body, /^nodejs_eventloop_lag_seconds\{service="router"\} /m);
    assert.equal((await get(server.port, "/")).status, 404);
    assert.equal((await get(server.port, "/metrics/x")).status, 404);
    assert.equal((await get(server.port, "/metrics", "POST")).status, 405);
  } finally {
    await server.close();
  }
});

test("a taken metrics port fails the start with the listen error", async () => {
  const first = await startMetricsServer(new ServiceMetrics("a").registry, "127.0.0.1:0");
  try {
    await assert.rejects(startMetricsServer(new ServiceMetrics("b").registry, `127.0.0.1:${first.port}`), /EADDRINUSE/);
  } finally {
    await first.close();
  }
});

test("<PREFIX>_METRICS_ADDR is optional and checked: unset is no listener, a bad one names the variable", () => {
  assert.deepEqual(readMetricsAddress(new EnvReader({}), "ROUTER"), {});
  assert.deepEqual(readMetricsAddress(new EnvReader({ ROUTER_METRICS_ADDR: "0.0.0.0:9464" }), "ROUTER"), {
    metricsAddress: "0.0.0.0:9464",
  });
  assert.throws(
    () => readMetricsAddress(new EnvReader({ WORKER_METRICS_ADDR: "9464" }), "WORKER"),
    (e: unknown) => e instanceof ConfigError && e.variable === "WORKER_METRICS_ADDR",
  );
  assert.equal(
    routerConfig(new EnvReader({ ...PEER_ENV, ROUTER_METRICS_ADDR: "127.0.0.1:0" })).metricsAddress,
    "127.0.0.1:0",
  );
  assert.throws(
    () => routerConfig(new EnvReader({ ...PEER_ENV, ROUTER_METRICS_ADDR: "nowhere" })),
    (e: unknown) => e instanceof ConfigError && e.variable === "ROUTER_METRICS_ADDR",
  );
});
