import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { DecisionRecordSchema } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import {
  AlertEngine,
  BreakerTable,
  DecisionWindows,
  driftSource,
  fallbackSource,
  outcomeBandSource,
  segmentSource,
  splitTarget,
} from "../../../../services/monitor/alerts/index.js";
import { DEFAULT_DRIFT_THRESHOLDS } from "../../../../services/lib/stats/index.js";
import type { WorkerView } from "../../../../services/monitor/worker-table.js";

const OPTS = { size: 100, maxAgeMs: 60_000, minSample: 50, errorRate: 0.05, p99Ms: 100, hysteresis: 0.1 };
const rec = (degraded: boolean, latencyMs: number, modelVersion = "1") =>
  create(DecisionRecordSchema, { model: "m", modelVersion, degraded, latencyMs });

test("decision windows: degraded share and p99 per version, the newest N, old decisions leave", () => {
  const w = new DecisionWindows(OPTS);
  for (let i = 0; i < 200; i++) w.add(rec(i >= 190, i < 195 ? 10 : 500), i);
  const [err, p99] = w.readings(1000);
  assert.equal(err!.rule, "error_rate");
  assert.equal(err!.sample, 100, "the newest 100");
  assert.equal(err!.value, 0.1);
  assert.equal(err!.clear, 0.045);
  assert.equal(p99!.rule, "latency_p99");
  assert.equal(p99!.value, 500, "nearest rank: 5 of 100 slow decisions put the 99th percentile at 500 ms");
  const later = w.readings(60_000 + 151);
  assert.equal(later[0]!.sample, 49, "decisions 100..150 are older than the window's age");
  const engine = new AlertEngine([w], { holdMs: 0 });
  assert.deepEqual(engine.evaluate(60_151), [], "49 decisions: under the minimum sample, nothing fires");
});

test("score drift: PSI above the alert level with the drift thresholds' minimum sample; features as subjects", () => {
  const readings = [
    { model: "m", version: "1", psi: 0.3, sample: 1000 },
    { model: "m", version: "1", feature: "PAY_0", psi: 0.3, sample: 100 },
  ];
  const src = driftSource("score_drift", () => readings, DEFAULT_DRIFT_THRESHOLDS, 0.1);
  const engine = new AlertEngine([src], { holdMs: 0 });
  engine.evaluate(0);
  assert.deepEqual(
    engine.list().map((a) => [a.subject, a.state, a.threshold, a.minSample]),
    [
      ["", "firing", 0.25, 500],
      ["PAY_0", "ok", 0.25, 500],
    ],
  );
});

test("segment ratio: the smallest group's sample, the bound from the segment rule", () => {
  const group = (g: string, n: number, rate: number) => ({
    group: g,
    decisions: n,
    approveRate: rate,
    reviewRate: 0,
    declineRate: 1 - rate,
    meanScore: 0,
  });
  const attribute = (groups: ReturnType<typeof group>[], ratio: number | null) => ({
    attribute: "sex",
    groups,
    approvalRatio: ratio,
    lowest: null,
    highest: null,
    waiting: [],
    flagged: false,
  });
  let attrs = [attribute([group("1", 500, 0.6), group("2", 40, 0.3)], null)];
  const view = { view: () => [{ model: "m", version: "1", attributes: attrs }] };
  const engine = new AlertEngine([segmentSource(view, { bound: 0.8, minSample: 100 }, 0.1)], { holdMs: 0 });
  assert.deepEqual(engine.evaluate(0), [], "a group under the minimum sample: no alert");
  const a = engine.list()[0]!;
  assert.equal(a.value, 0.5);
  assert.equal(a.sample, 40);
  attrs = [attribute([group("1", 500, 0.6), group("2", 400, 0.3)], 0.5)];
  assert.equal(engine.evaluate(1)[0]?.alert.state, "firing");
  assert.equal(engine.list()[0]!.clear, 0.88);
});

test("breakers: a target not CLOSED is 1; the newest epoch wins; targets split into address, model, version", () => {
  const t = new BreakerTable();
  t.apply({ origin: "r1", target: "127.0.0.1:1/m/3", state: "OPEN", epoch: 2, at: 10 });
  t.apply({ origin: "r2", target: "127.0.0.1:1/m/3", state: "CLOSED", epoch: 1, at: 20 });
  assert.deepEqual(
    t.readings().map((r) => [r.rule, r.model, r.version, r.subject, r.value]),
    [["breaker_open", "m", "3", "127.0.0.1:1", 1]],
  );
  t.apply({ origin: "r2", target: "127.0.0.1:1/m/3", state: "CLOSED", epoch: 3, at: 30 });
  assert.equal(t.readings()[0]!.value, 0);
  assert.deepEqual(splitTarget("dns:///worker:50081/m/2"), {
    address: "dns:///worker:50081",
    model: "m",
    version: "2",
  });
});

test("CPU fallback: one alert per ready version of a worker that fell back; model '' when none is ready", () => {
  const worker = (address: string, cpuFallback: boolean, ready: string[]) =>
    ({ address, cpuFallback, ready }) as WorkerView;
  const table = { list: () => [worker("w1:1", true, ["m/1", "m/2"]), worker("w2:1", false, [])] };
  const engine = new AlertEngine([fallbackSource(table)], { holdMs: 0 });
  engine.evaluate(0);
  assert.deepEqual(
    engine.list().map((a) => [a.model, a.version, a.subject, a.state]),
    [
      ["m", "1", "w1:1", "firing"],
      ["m", "2", "w1:1", "firing"],
      ["", "", "w2:1", "ok"],
    ],
  );
});

test("outcome band: the nearer edge is the threshold, so a rate leaving the band on either side fires", () => {
  let realised = 0.1;
  const src = outcomeBandSource(
    () => [{ model: "m", version: "1", tier: "low", realised, low: 0.05, high: 0.15, sample: 300, minSample: 200 }],
    0.1,
  );
  const engine = new AlertEngine([src], { holdMs: 0 });
  assert.deepEqual(engine.evaluate(0), []);
  realised = 0.2;
  assert.equal(engine.evaluate(1)[0]?.alert.state, "firing");
  realised = 0.1;
  assert.equal(engine.evaluate(2)[0]?.alert.state, "ok");
  realised = 0.01;
  const [below] = engine.evaluate(3);
  assert.equal(below?.alert.state, "firing");
  assert.equal(below.alert.direction, "below");
});
