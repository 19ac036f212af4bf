import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, EnvReader } from "../../../../services/lib/service/config.js";
import { readConfig as routerConfig } from "../../../../services/router/config.js";
import { readConfig as workerConfig } from "../../../../services/model-worker/config.js";
import { PEER_ENV } from "../../../support/peer-env.js";

test("batching is on by default in the router and the worker", () => {
  const r = routerConfig(new EnvReader(PEER_ENV));
  assert.deepEqual([r.batching, r.batchWindowUs, r.batchMaxRows, r.batchMaxInFlight], [true, 0, 256, 2]);
  const w = workerConfig(new EnvReader(PEER_ENV));
  assert.deepEqual([w.batching, w.maxBatchRows, w.maxQueueDelayUs, w.maxQueueRows, w.executionProviders], [true, 256, 0, 8192, "auto"]);
  assert.equal(routerConfig(new EnvReader({ ...PEER_ENV, ROUTER_BATCHING: "off" })).batching, false);
  assert.equal(workerConfig(new EnvReader({ ...PEER_ENV, WORKER_BATCHING: "off" })).batching, false);
  assert.equal(workerConfig(new EnvReader({ ...PEER_ENV, WORKER_EXECUTION_PROVIDERS: "cuda, cpu" })).executionProviders, "cuda, cpu");
});

test("a malformed batching or provider variable stops the service, naming it", () => {
  const cases: [(env: EnvReader) => unknown, Record<string, string>, string][] = [
    [routerConfig, { ROUTER_BATCHING: "yes" }, "ROUTER_BATCHING"],
    [routerConfig, { ROUTER_BATCH_MAX_ROWS: "0" }, "ROUTER_BATCH_MAX_ROWS"],
    [routerConfig, { ROUTER_BATCH_WINDOW_US: "-1" }, "ROUTER_BATCH_WINDOW_US"],
    [routerConfig, { ROUTER_BATCH_MAX_IN_FLIGHT: "many" }, "ROUTER_BATCH_MAX_IN_FLIGHT"],
    [workerConfig, { WORKER_BATCHING: "1" }, "WORKER_BATCHING"],
    [workerConfig, { WORKER_MAX_BATCH_ROWS: "0" }, "WORKER_MAX_BATCH_ROWS"],
    [workerConfig, { WORKER_MAX_QUEUE_ROWS: "lots" }, "WORKER_MAX_QUEUE_ROWS"],
    [workerConfig, { WORKER_EXECUTION_PROVIDERS: "cuda,gpu" }, "WORKER_EXECUTION_PROVIDERS"],
  ];
  for (const [read, env, name] of cases) {
    assert.throws(
      () => read(new EnvReader({ ...PEER_ENV, ...env })),
      (e: unknown) => e instanceof ConfigError && e.variable === name,
      JSON.stringify(env),
    );
  }
});
