import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ArmSample,
  canaryAnalysis,
  DEFAULT_CANARY_THRESHOLDS,
  type ArmObservation,
  type DecisionName,
} from "../../../../services/lib/stats/index.js";

/** A deterministic score stream (a fixed LCG), skewed towards low scores like the credit model's. */
function scores(n: number, seed: number): number[] {
  let s = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out.push((s / 2147483648) ** 2);
  }
  return out;
}

function decide(score: number): DecisionName {
  return score < 0.3 ? "approve" : score < 0.6 ? "review" : "decline";
}

function arm(
  values: number[],
  extra: Partial<ArmObservation> = {},
  segmentOf: (i: number) => Record<string, string> = () => ({}),
): ArmSample {
  const a = new ArmSample();
  values.forEach((score, i) =>
    a.add({ score, decision: decide(score), degraded: false, latencyMs: 5, segment: segmentOf(i), ...extra }),
  );
  return a;
}

test("the same model on two samples passes every check", () => {
  const v = canaryAnalysis(arm(scores(2000, 1)), arm(scores(400, 7)));
  assert.equal(v.verdict, "pass", JSON.stringify(v.breached));
  assert.ok(v.checks.every((c) => c.state === "pass"));
});

test("a slightly recalibrated model (scores shifted by 0.02) passes", () => {
  const v = canaryAnalysis(arm(scores(2000, 1)), arm(scores(400, 7).map((s) => Math.min(1, s + 0.02))));
  assert.equal(v.verdict, "pass", JSON.stringify(v.breached));
});

test("an inverted model breaches the decision rates and the score PSI", () => {
  const v = canaryAnalysis(arm(scores(2000, 1)), arm(scores(400, 7).map((s) => 1 - s)));
  assert.equal(v.verdict, "breach");
  assert.ok(v.breached.includes("approve_rate"), v.breached.join());
  assert.ok(v.breached.includes("decline_rate"));
  assert.ok(v.breached.includes("score_psi"));
});

test("nothing is judged before both arms have the minimum sample", () => {
  const v = canaryAnalysis(arm(scores(2000, 1)), arm(scores(199, 7).map((s) => 1 - s)));
  assert.equal(v.verdict, "pass");
  assert.ok(v.checks.every((c) => c.state === "waiting"));
  assert.equal(DEFAULT_CANARY_THRESHOLDS.minSample, 200);
});

test("a small segment with a large difference waits; a large one breaches", () => {
  const champion = arm(scores(4000, 1), {}, (i) => ({ band: i % 40 === 0 ? "small" : "large" }));
  // The canary is inverted only inside the small segment (1 row in 40: 10 of 400).
  const small = (i: number) => i % 40 === 0;
  const canaryValues = scores(400, 7).map((s, i) => (small(i) ? 1 - s : s));
  const v = canaryAnalysis(
    champion,
    arm(canaryValues, {}, (i) => ({ band: small(i) ? "small" : "large" })),
  );
  assert.equal(v.verdict, "pass", JSON.stringify(v.breached));
  assert.ok(v.checks.some((c) => c.segment === "band=small" && c.state === "waiting"));
  const inverted = canaryAnalysis(
    champion,
    arm(
      scores(400, 7).map((s, i) => (small(i) ? s : 1 - s)),
      {},
      (i) => ({ band: small(i) ? "small" : "large" }),
    ),
  );
  assert.ok(inverted.breached.includes("approve_rate [band=large]"), inverted.breached.join());
});

test("degraded answers and slow answers breach their own checks", () => {
  const base = arm(scores(1000, 1));
  const degraded = arm(scores(400, 7), { degraded: true });
  assert.ok(canaryAnalysis(base, degraded).breached.includes("degraded_rate"));
  const slow = arm(scores(400, 7), { latencyMs: 80 });
  const v = canaryAnalysis(base, slow);
  assert.deepEqual(v.breached, ["p99_latency_ms"]);
  const check = v.checks.find((c) => c.name === "p99_latency_ms")!;
  assert.equal(check.limit, 5 * 2 + 25);
  assert.equal(check.value, 80);
});
