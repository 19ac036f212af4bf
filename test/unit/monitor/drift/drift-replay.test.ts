import { test } from "node:test";
import assert from "node:assert/strict";
import type { DecisionRecord } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { DriftWatch, DEFAULT_DRIFT_RULE, type DriftState } from "../../../../services/monitor/drift/index.js";
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

/** Feeds `records`, reading every state after each; the 1-based index of the first decision after which `hit` holds. */
function delayUntil(
  t: ReturnType<typeof watch>,
  records: DecisionRecord[],
  hit: (s: DriftState) => boolean,
): { at?: number; state?: DriftState } {
  for (let i = 0; i < records.length; i++) {
    t.feed(records[i]!);
    const state = t.w.driftStates(MODEL).find(hit);
    if (state) return { at: i + 1, state };
  }
  return {};
}

const alertOn =
  (feature: string, window = "decisions") =>
  (s: DriftState) =>
    s.feature === feature && s.window === window && s.state === "alert";

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

test("young applicants only (AGE < 30) raise the age band's alert, and correlated inputs drift too", (t) => {
  const young = stream.where((r) => r["AGE"]! < 30);
  const tw = watch();
  for (const r of stream.draw(everyRow, 1000, 2)) tw.feed(r);
  assert.deepEqual(
    tw.w.driftStates(MODEL).filter((s) => s.state === "alert"),
    [],
  );
  const records = stream.draw(young, 3000, 3);
  const band = delayUntil(tw, records, alertOn("age_band"));
  const rest = records.slice(band.at ?? 0);
  const input = delayUntil(tw, rest, (s) => s.subject === "input" && s.window === "decisions" && s.state !== "ok");
  for (const r of rest.slice(input.at ?? 0)) tw.feed(r);
  t.diagnostic(`age_band alert after ${band.at} young decisions (PSI ${band.state?.psi.toFixed(3)})`);
  t.diagnostic(
    `first input past warn: ${input.state?.feature} ${input.state?.state} after ${(band.at ?? 0) + (input.at ?? NaN)} (PSI ${input.state?.psi.toFixed(3)})`,
  );
  const all = tw.w.driftStates(MODEL).filter((s) => s.window === "decisions" && s.state !== "ok");
  t.diagnostic(`after 3000: ${all.map((s) => `${s.feature} ${s.state} ${s.psi.toFixed(3)}`).join(", ")}`);
  assert.ok(band.at !== undefined);
});

test("already-delinquent clients (PAY_0 >= 2) raise PAY_0's and the score's alerts", (t) => {
  const late = stream.where((r) => r["PAY_0"]! >= 2);
  const tw = watch();
  for (const r of stream.draw(everyRow, 1000, 4)) tw.feed(r);
  const records = stream.draw(late, 3000, 5);
  const pay = delayUntil(tw, records, alertOn("PAY_0"));
  const tw2 = watch();
  for (const r of stream.draw(everyRow, 1000, 4)) tw2.feed(r);
  const score = delayUntil(tw2, records, alertOn("score"));
  for (const r of records.slice(score.at ?? 0)) tw2.feed(r);
  t.diagnostic(
    `PAY_0 alert after ${pay.at} (PSI ${pay.state?.psi.toFixed(3)}); score alert after ${score.at} (PSI ${score.state?.psi.toFixed(3)})`,
  );
  const all = tw2.w.driftStates(MODEL).filter((s) => s.window === "decisions" && s.state !== "ok");
  t.diagnostic(`after 3000: ${all.map((s) => `${s.feature} ${s.state} ${s.psi.toFixed(3)}`).join(", ")}`);
  assert.ok(pay.at !== undefined);
});
