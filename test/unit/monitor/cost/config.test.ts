import assert from "node:assert/strict";
import { test } from "node:test";
import { readConfig } from "../../../../services/monitor/config.js";
import { ConfigError, EnvReader } from "../../../../services/lib/service/index.js";
import { PEER_ENV } from "../../../support/peer-env.js";

const read = (vars: Record<string, string>) => readConfig(new EnvReader({ ...PEER_ENV, ...vars }));

test("outcome and cost settings: defaults, and a bad value names its variable", () => {
  const c = read({});
  assert.deepEqual(c.outcomes, { window: 1000, minSample: 200, band: 0.05 });
  assert.deepEqual(c.cost, { targets: [], intervalMs: 15_000, prices: { coreHour: 0.04, gpuHour: 2.5 } });
  assert.deepEqual(read({ MONITOR_COST_TARGETS: "http://a:1/metrics, https://b/metrics" }).cost.targets, [
    "http://a:1/metrics",
    "https://b/metrics",
  ]);
  const cases: [Record<string, string>, string][] = [
    [{ MONITOR_COST_TARGETS: "a:1/metrics" }, "MONITOR_COST_TARGETS"],
    [{ MONITOR_PRICE_CORE_HOUR: "-1" }, "MONITOR_PRICE_CORE_HOUR"],
    [{ MONITOR_PRICE_GPU_HOUR: "free" }, "MONITOR_PRICE_GPU_HOUR"],
    [{ MONITOR_OUTCOME_WINDOW: "5" }, "MONITOR_OUTCOME_WINDOW"],
    [{ MONITOR_OUTCOME_BAND: "2" }, "MONITOR_OUTCOME_BAND"],
    [{ MONITOR_OUTCOME_MIN_SAMPLE: "0" }, "MONITOR_OUTCOME_MIN_SAMPLE"],
  ];
  for (const [vars, name] of cases)
    assert.throws(
      () => read(vars),
      (e: unknown) => e instanceof ConfigError && e.variable === name,
      name,
    );
});
