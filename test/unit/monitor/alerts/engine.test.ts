import { test } from "node:test";
import assert from "node:assert/strict";
import { AlertEngine, type AlertReading, type AlertSource } from "../../../../services/monitor/alerts/index.js";

/** A source whose next reading the test sets. */
function fake(base: Partial<AlertReading> = {}): AlertSource & { set(v: number, sample?: number): void; gone(): void } {
  let current: AlertReading[] = [];
  const reading = (value: number, sample: number): AlertReading => ({
    rule: "error_rate",
    model: "m",
    version: "1",
    subject: "",
    value,
    threshold: 0.05,
    clear: 0.045,
    direction: "above",
    sample,
    minSample: 100,
    ...base,
  });
  return {
    readings: () => current,
    set: (v, sample = 1000) => (current = [reading(v, sample)]),
    gone: () => (current = []),
  };
}

test("ok → pending → firing only after the hold time; a short excursion goes back to ok", () => {
  const src = fake();
  const engine = new AlertEngine([src], { holdMs: 30_000 });
  src.set(0.01);
  assert.deepEqual(engine.evaluate(0), [], "an ok reading is no change");
  src.set(0.08);
  const [toPending] = engine.evaluate(5_000);
  assert.equal(toPending?.alert.state, "pending");
  assert.equal(toPending.previous, "ok");
  assert.equal(toPending.alert.since, 5_000);
  src.set(0.03);
  assert.equal(engine.evaluate(10_000)[0]?.alert.state, "ok", "back within before the hold time: no alert");
  src.set(0.08);
  engine.evaluate(20_000);
  assert.deepEqual(engine.evaluate(45_000), [], "29 s beyond: still pending");
  const [toFiring] = engine.evaluate(50_000);
  assert.equal(toFiring?.alert.state, "firing");
  assert.equal(toFiring.previous, "pending");
  assert.equal(engine.list()[0]!.since, 50_000);
});

test("hysteresis: a firing value hovering between clear and threshold does not flap; it clears at the clear value", () => {
  const src = fake();
  const engine = new AlertEngine([src], { holdMs: 0 });
  src.set(0.06);
  assert.equal(engine.evaluate(0)[0]?.alert.state, "firing", "hold 0: straight to firing");
  for (const [t, v] of [
    [1, 0.049],
    [2, 0.051],
    [3, 0.046],
    [4, 0.05],
  ] as const) {
    src.set(v);
    assert.deepEqual(engine.evaluate(t * 5000), [], `value ${v}: still firing`);
  }
  assert.equal(engine.list()[0]!.state, "firing");
  assert.equal(engine.list()[0]!.since, 0);
  src.set(0.045);
  const [cleared] = engine.evaluate(30_000);
  assert.equal(cleared?.alert.state, "ok");
  assert.equal(cleared.previous, "firing");
});

test("the minimum sample: a small window never fires, whatever its value", () => {
  const src = fake();
  const engine = new AlertEngine([src], { holdMs: 0 });
  src.set(1, 99);
  assert.deepEqual(engine.evaluate(0), []);
  assert.equal(engine.list()[0]!.state, "ok");
  src.set(1, 100);
  assert.equal(engine.evaluate(1)[0]?.alert.state, "firing", "at the minimum sample it may");
  src.set(Number.NaN, 1000);
  assert.equal(engine.evaluate(2)[0]?.alert.state, "ok", "no value: ok");
});

test("a lower bound (segment ratio): fires below, clears above the clear value", () => {
  const src = fake({ rule: "segment_ratio", threshold: 0.8, clear: 0.88, direction: "below", subject: "sex" });
  const engine = new AlertEngine([src], { holdMs: 0 });
  src.set(0.85);
  assert.deepEqual(engine.evaluate(0), []);
  src.set(0.7);
  assert.equal(engine.evaluate(1)[0]?.alert.state, "firing");
  src.set(0.85);
  assert.deepEqual(engine.evaluate(2), [], "above the bound, under the clear value: still firing");
  src.set(0.9);
  assert.equal(engine.evaluate(3)[0]?.alert.state, "ok");
});

test("an alert whose reading is gone is dropped, with a change to ok; a failing source holds its alerts", () => {
  const src = fake();
  const broken = fake({ rule: "breaker_open" });
  let fail = false;
  const flaky: AlertSource = {
    readings: (now) => {
      if (fail) throw new Error("bucket away");
      return broken.readings(now);
    },
  };
  const errors: unknown[] = [];
  const engine = new AlertEngine([src, flaky], { holdMs: 0, onSourceError: (e) => errors.push(e) });
  src.set(0.5);
  broken.set(0.5);
  assert.equal(engine.evaluate(0).length, 2);
  fail = true;
  src.gone();
  const changes = engine.evaluate(1);
  assert.deepEqual(
    changes.map((c) => [c.alert.rule, c.alert.state, c.previous]),
    [["error_rate", "ok", "firing"]],
  );
  assert.equal(errors.length, 1);
  assert.deepEqual(
    engine.list().map((a) => [a.rule, a.state]),
    [["breaker_open", "firing"]],
    "the failing source's alert holds",
  );
});

test("list: firing first, then pending, then ok; filtered by model and active", () => {
  const a = fake({ rule: "a", model: "x" });
  const b = fake({ rule: "b", model: "y" });
  const c = fake({ rule: "c", model: "x" });
  const engine = new AlertEngine([a, b, c], { holdMs: 10 });
  a.set(0);
  b.set(1);
  c.set(1);
  engine.evaluate(0);
  b.set(1);
  engine.evaluate(10);
  c.set(1);
  engine.evaluate(10);
  assert.deepEqual(
    engine.list().map((v) => `${v.rule}:${v.state}`),
    ["b:firing", "c:firing", "a:ok"],
  );
  assert.deepEqual(
    engine.list({ model: "x", activeOnly: true }).map((v) => v.rule),
    ["c"],
  );
});
