import { test } from "node:test";
import assert from "node:assert/strict";
import type { DecisionRecord } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { DriftWatch, DEFAULT_DRIFT_RULE } from "../../../../services/monitor/drift/index.js";
import { CreditStream, MODEL, repo } from "./credit-stream.js";

// Drift replay with the credit data (docs/drift.md): rows of models/credit-default/data/credit_default.csv through
// the feature service's routingInputs/segmentsOf and version 1's score, into the monitor's DriftWatch with its
// default rule (last 1,000 decisions, last hour, minimum sample 500, PSI 0.1 warn, 0.25 alert), 20 decisions/s.

const stream = new CreditStream();
const everyRow = stream.rows.map((_, i) => i);

/** A watch on a fake clock that moves 50 ms per decision. */
function watch() {
  let now = Date.UTC(2026, 10, 30);
  const w = new DriftWatch(repo, DEFAULT_DRIFT_RULE, () => now);
  return { w, feed: (r: DecisionRecord) => (w.add(r), (now += 50)) };
}

test("a stream drawn like the training data raises no drift alert over 10,000 decisions", (t) => {
  const { w, feed } = watch();
  let readings = 0;
  let warns = 0;
  let alerts = 0;
  let decisionsWithWarn = 0;
  const warned = new Set<string>();
  // States are read after every 10th decision (the monitor reads them every 100 and on every request).
  for (const [i, r] of stream.draw(everyRow, 10_000, 1).entries()) {
    feed(r);
    if (i % 10 !== 9) continue;
    const states = w.driftStates(MODEL).filter((s) => s.state !== "insufficient");
    readings += states.length;
    const warnHere = states.filter((s) => s.state === "warn");
    warns += warnHere.length;
    alerts += states.filter((s) => s.state === "alert").length;
    if (warnHere.length > 0) decisionsWithWarn++;
    for (const s of warnHere) warned.add(`${s.feature}/${s.window}`);
  }
  const features = new Set(w.driftStates(MODEL).map((s) => s.feature)).size;
  t.diagnostic(
    `${features} features × 2 windows; ${readings} readings past the minimum sample: ${alerts} alert, ${warns} warn (${[...warned].join(", ") || "none"}); reads with a warn: ${decisionsWithWarn} of 1000`,
  );
  assert.equal(features, 24, "the score, 20 inputs and 3 segments");
  assert.equal(alerts, 0, "no alert");
});

/** Feeds `records`, reading every state after each: per feature and window, after how many it first warned and alerted. */
function firstStates(t: ReturnType<typeof watch>, records: DecisionRecord[]) {
  const first = new Map<string, { warn?: number; alert?: number }>();
  records.forEach((r, i) => {
    t.feed(r);
    for (const s of t.w.driftStates(MODEL)) {
      if (s.state !== "warn" && s.state !== "alert") continue;
      const key = `${s.feature}/${s.window}`;
      const f = first.get(key) ?? {};
      f.warn ??= i + 1;
      if (s.state === "alert") f.alert ??= i + 1;
      first.set(key, f);
    }
  });
  return first;
}

const shown = (first: Map<string, { warn?: number; alert?: number }>) =>
  [...first].map(([k, f]) => `${k} warn ${f.warn} alert ${f.alert ?? "-"}`).join("; ");

/** A watch that has seen `n` decisions drawn like the training data (no state past ok). */
function warmed(n: number, seed: number) {
  const tw = watch();
  for (const r of stream.draw(everyRow, n, seed)) tw.feed(r);
  assert.deepEqual(
    tw.w.driftStates(MODEL).filter((s) => s.state !== "ok"),
    [],
  );
  return tw;
}

test("young applicants only (AGE < 30): the age band alerts, marriage follows, a correlated input warns", (t) => {
  const young = stream.draw(
    stream.where((r) => r["AGE"]! < 30),
    2000,
    3,
  );
  const first = firstStates(warmed(1000, 2), young);
  t.diagnostic(`after 1,000 like the training data, then young applicants: ${shown(first)}`);
  assert.ok(first.get("age_band/decisions")!.alert! <= 500, "the age band alerts within 500 decisions");
  assert.ok(first.get("marriage/decisions")!.alert! <= 1000, "marriage (young applicants are single) alerts too");
  assert.ok(first.get("LIMIT_BAL/decisions")!.warn! <= 1000, "their credit limits are lower: LIMIT_BAL warns");
  assert.ok(first.get("age_band/time")!.alert! <= 1000, "the hour's window, which still holds the first 1,000");
  const cold = firstStates(watch(), young.slice(0, 600));
  assert.equal(cold.get("age_band/decisions")?.alert, 500, "from an empty window: at the minimum sample");
});

test("already-delinquent clients (PAY_0 >= 2): PAY_0 and the score alert, the other repayment statuses follow", (t) => {
  const late = stream.draw(
    stream.where((r) => r["PAY_0"]! >= 2),
    2000,
    5,
  );
  const first = firstStates(warmed(1000, 4), late);
  t.diagnostic(`after 1,000 like the training data, then delinquent clients: ${shown(first)}`);
  assert.ok(first.get("PAY_0/decisions")!.alert! <= 250, "PAY_0 alerts within 250 decisions");
  assert.ok(first.get("score/decisions")!.alert! <= 400, "the score alerts within 400 decisions");
  assert.ok(first.get("PAY_2/decisions")!.alert! <= 1000);
});
