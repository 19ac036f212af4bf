import { test } from "node:test";
import assert from "node:assert/strict";
import type { DecisionRecord } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { AlertEngine, segmentSource } from "../../../../services/monitor/alerts/index.js";
import { DEFAULT_SEGMENT_OPTIONS, SegmentView } from "../../../../services/monitor/dashboard/segments.js";
import { decide } from "../../../../services/lib/model/index.js";
import { createRng } from "../../../../tools/trainer/rng.js";
import { CreditStream, MODEL, repo, VERSION } from "../drift/credit-stream.js";

// Segment replay with the credit data (docs/alerts.md): rows of models/credit-default/data/credit_default.csv with
// version 1's score and the card's thresholds as the decision, through the monitor's SegmentView and the alert
// engine's segment source with the monitor's defaults (minimum sample 100 per group, bound 0.8, hysteresis 0.1,
// hold 30 s, evaluated every 5 s), on a fake clock at 20 decisions/s.

const stream = new CreditStream();
const everyRow = stream.rows.map((_, i) => i);
const thresholds = repo.card(MODEL, VERSION).thresholds;
const HOLD_MS = 30_000;
const STEP_MS = 50;
const EVALUATE_EVERY = 100; // 5 s at 20 decisions/s

/** The router's decision of a model score: the card's review and decline thresholds. */
const decision = (score: number) => decide(score, thresholds);

interface Replay {
  /** Decisions fed when the sex alert first went pending, and when it fired (undefined: never). */
  pendingAt?: number;
  firingAt?: number;
  /** The smallest sex group's decisions when it went pending. */
  smallestAtPending?: number;
  /** Evaluations at which the ratio was below the bound but a group was under the minimum sample (so: ok). */
  heldBySample: number;
  /** Per attribute: decisions fed when every group first had the minimum sample. */
  readAt: Map<string, number>;
  /** Every alert that fired, as rule/subject. */
  fired: Set<string>;
  view: SegmentView;
}

/** Feeds `records` (with their decisions) through a SegmentView and the engine's segment source. */
function replay(records: readonly DecisionRecord[]): Replay {
  const view = new SegmentView(DEFAULT_SEGMENT_OPTIONS);
  const engine = new AlertEngine([segmentSource(view, DEFAULT_SEGMENT_OPTIONS, 0.1)], { holdMs: HOLD_MS });
  const out: Replay = { heldBySample: 0, readAt: new Map(), fired: new Set(), view };
  let now = Date.UTC(2026, 10, 30);
  records.forEach((r, i) => {
    view.add(r);
    now += STEP_MS;
    if ((i + 1) % EVALUATE_EVERY !== 0) return;
    engine.evaluate(now);
    for (const a of engine.list()) {
      if (a.state === "firing") out.fired.add(`${a.rule}/${a.subject}`);
      if (a.sample >= a.minSample && !out.readAt.has(a.subject)) out.readAt.set(a.subject, i + 1);
    }
    const sex = engine.list().find((a) => a.rule === "segment_ratio" && a.subject === "sex")!;
    if (sex.state === "ok" && sex.value < sex.threshold && sex.sample < sex.minSample) out.heldBySample++;
    if (sex.state === "pending" && out.pendingAt === undefined) {
      out.pendingAt = i + 1;
      out.smallestAtPending = sex.sample;
    }
    if (sex.state === "firing") out.firingAt ??= i + 1;
  });
  return out;
}

const sexRatio = (view: SegmentView) =>
  view.view()[0]!.attributes.find((a) => a.attribute === "sex")!.approvalRatio ?? Number.NaN;

test("a stream whose decisions decline half the women the model approves raises the sex segment alert", (t) => {
  const rng = createRng(7);
  const skewed = stream.draw(everyRow, 2000, 3).map((r): DecisionRecord => {
    const model = decision(r.score);
    const skew = r.segment["sex"] === "female" && model === Decision.APPROVE && rng.next() < 0.5;
    return { ...r, decision: skew ? Decision.DECLINE : model };
  });
  const run = replay(skewed);
  t.diagnostic(
    `sex ratio ${sexRatio(run.view).toFixed(3)} after 2000; pending after ${run.pendingAt} decisions (smallest group ${run.smallestAtPending}), firing after ${run.firingAt}; ${run.heldBySample} evaluations below the bound held ok by the minimum sample`,
  );
  assert.ok(sexRatio(run.view) < 0.8, "the skew is below the four-fifths bound");
  assert.ok(run.heldBySample > 0, "below the bound while a group is under 100 decisions: ok, not pending");
  assert.ok(run.pendingAt !== undefined && run.firingAt !== undefined, "pending, then firing");
  assert.ok(run.smallestAtPending! >= 100, "pending only once every sex group has 100 decisions");
  assert.equal(run.firingAt - run.pendingAt, HOLD_MS / STEP_MS, "the 30 s hold: 600 decisions later");
  assert.ok(run.fired.has("segment_ratio/sex"));
});

test("the model's own decisions on a stream drawn like the data raise no segment alert over 40,000", (t) => {
  const balanced = stream.draw(everyRow, 40_000, 4).map((r): DecisionRecord => ({ ...r, decision: decision(r.score) }));
  const run = replay(balanced);
  const ratios = run.view.view()[0]!.attributes.map((a) => {
    const rates = a.groups.map((g) => `${g.group} ${g.decisions} ${g.approveRate.toFixed(3)}`).join(", ");
    return `${a.attribute} ${a.approvalRatio?.toFixed(3) ?? `waiting for ${JSON.stringify(a.waiting)}`} (${rates})`;
  });
  t.diagnostic(`ratios after 40,000 (group, decisions, approval rate): ${ratios.join("; ")}`);
  t.diagnostic(`every group at the minimum sample after: ${JSON.stringify(Object.fromEntries(run.readAt))} decisions`);
  for (const a of run.view.view()[0]!.attributes.filter((a) => a.attribute !== "tenant"))
    assert.ok(a.approvalRatio !== null && a.approvalRatio >= 0.8, `${a.attribute}: every group read, at or above 0.8`);
  assert.equal(run.pendingAt, undefined, "the sex alert never went pending");
  assert.deepEqual([...run.fired], [], "no segment alert fired");
});
