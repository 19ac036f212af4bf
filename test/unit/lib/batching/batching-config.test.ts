import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, EnvReader } from "../../../../services/lib/service/config.js";
import { readConfig as routerConfig } from "../../../../services/router/config.js";
import { readConfig as workerConfig } from "../../../../services/model-worker/config.js";
import { readConfig as validatorConfig } from "../../../../services/validator/config.js";
import { readConfig as featureConfig } from "../../../../services/feature/config.js";
import { readHopBatching, readWorkerBatching } from "../../../../services/lib/batching/batching-settings.js";
import { PEER_ENV } from "../../../support/peer-env.js";

test("batching is on by default in the router and the worker", () => {
  const r = routerConfig(new EnvReader(PEER_ENV));
  assert.deepEqual([r.batching, r.batchWindowUs, r.batchMaxRows, r.batchMaxInFlight], [true, 0, 256, 2]);
  const w = workerConfig(new EnvReader(PEER_ENV));
  assert.deepEqual(
    [w.batching, w.maxBatchRows, w.maxQueueDelayUs, w.maxQueueRows, w.executionProviders],
    [true, 256, 0, 8192, "auto"],
  );
  assert.equal(routerConfig(new EnvReader({ ...PEER_ENV, ROUTER_BATCHING: "off" })).batching, false);
  assert.equal(workerConfig(new EnvReader({ ...PEER_ENV, WORKER_BATCHING: "off" })).batching, false);
  assert.equal(
    workerConfig(new EnvReader({ ...PEER_ENV, WORKER_EXECUTION_PROVIDERS: "cuda, cpu" })).executionProviders,
    "cuda, cpu",
  );
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

test("the validator's and the feature service's batching variables keep their names and defaults", () => {
  const v = validatorConfig(new EnvReader(PEER_ENV));
  const f = featureConfig(new EnvReader(PEER_ENV));
  for (const c of [v, f])
    assert.deepEqual([c.batching, c.batchWindowUs, c.batchMaxRows, c.batchMaxInFlight], [true, 0, 256, 4]);
  const set = validatorConfig(
    new EnvReader({
      ...PEER_ENV,
      VALIDATOR_BATCHING: "off",
      VALIDATOR_BATCH_WINDOW_US: "200",
      VALIDATOR_BATCH_MAX_ROWS: "64",
      VALIDATOR_BATCH_MAX_IN_FLIGHT: "8",
    }),
  );
  assert.deepEqual([set.batching, set.batchWindowUs, set.batchMaxRows, set.batchMaxInFlight], [false, 200, 64, 8]);
  assert.equal(featureConfig(new EnvReader({ ...PEER_ENV, FEATURE_BATCH_MAX_IN_FLIGHT: "3" })).batchMaxInFlight, 3);
  assert.throws(
    () => featureConfig(new EnvReader({ ...PEER_ENV, FEATURE_BATCH_WINDOW_US: "2000000" })),
    (e: unknown) => e instanceof ConfigError && e.variable === "FEATURE_BATCH_WINDOW_US",
  );
});

test("one reader for every service's batching variables, by prefix", () => {
  const env = new EnvReader({
    X_BATCHING: "off",
    X_BATCH_MAX_ROWS: "9",
    X_MAX_BATCH_ROWS: "7",
    X_MAX_QUEUE_DELAY_US: "300",
    X_MAX_QUEUE_ROWS: "50",
  });
  assert.deepEqual(readHopBatching(env, "X", { maxInFlight: 5 }), {
    batching: false,
    batchWindowUs: 0,
    batchMaxRows: 9,
    batchMaxInFlight: 5,
  });
  assert.deepEqual(readWorkerBatching(env, "X"), {
    batching: false,
    maxBatchRows: 7,
    maxQueueDelayUs: 300,
    maxQueueRows: 50,
  });
  assert.throws(
    () => readHopBatching(new EnvReader({ Y_BATCHING: "maybe" }), "Y", { maxInFlight: 1 }),
    (e: unknown) => e instanceof ConfigError && e.variable === "Y_BATCHING",
  );
});
