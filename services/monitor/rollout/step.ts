import type { Rollout, RolloutThresholds } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import {
  canaryAnalysis,
  DEFAULT_CANARY_THRESHOLDS,
  type CanaryThresholds,
  type CanaryVerdict,
} from "../../lib/stats/index.js";
import type { StepWindow } from "./windows.js";

/** The default steps of a rollout, in percent of traffic. */
export const DEFAULT_ROLLOUT_STEPS: readonly number[] = [5, 25, 50, 100];

/** The policy's thresholds over the defaults (0 or unset: the default). */
export function thresholdsOf(t: RolloutThresholds | undefined): CanaryThresholds {
  const d = DEFAULT_CANARY_THRESHOLDS;
  const or = (v: number | undefined, dv: number) => (v && v > 0 ? v : dv);
  return {
    ...d,
    minSample: or(t?.minSample, d.minSample),
    maxDegradedIncrease: or(t?.maxDegradedIncrease, d.maxDegradedIncrease),
    maxP99Ratio: or(t?.maxP99Ratio, d.maxP99Ratio),
    maxP99SlackMs: or(t?.maxP99SlackMs, d.maxP99SlackMs),
    maxScorePsi: or(t?.maxScorePsi, d.maxScorePsi),
    maxDecisionRateShift: or(t?.maxDecisionRateShift, d.maxDecisionRateShift),
  };
}

/** What the controller does now with a running rollout. */
export type StepAction =
  | { kind: "hold"; verdict: CanaryVerdict }
  | { kind: "advance"; verdict: CanaryVerdict; percent: number }
  | { kind: "promote"; verdict: CanaryVerdict }
  | { kind: "rollback"; verdict: CanaryVerdict; reason: string };

/**
 * The next action of a running rollout at its current step: a breach rolls back at once (even mid-hold); the
 * hold over (canary decisions ≥ hold_decisions, or hold_seconds elapsed) with no breach advances to the next
 * step's percent, or promotes after the last. Pure.
 */
export function stepAction(r: Rollout, w: StepWindow, now: number): StepAction {
  const verdict = canaryAnalysis(w.champion, w.canary, thresholdsOf(r.thresholds));
  if (verdict.verdict === "breach") {
    const detail = verdict.checks
      .filter((c) => c.state === "breach")
      .map((c) => `${c.name}${c.segment ? ` [${c.segment}]` : ""} ${round(c.value)} (limit ${round(c.limit)})`);
    return { kind: "rollback", verdict, reason: `breach at step ${r.stepIndex + 1}: ${detail.join("; ")}` };
  }
  const byDecisions = r.holdDecisions > 0 && w.canary.all.decisions >= r.holdDecisions;
  const byTime = r.holdSeconds > 0 && now - w.key.since >= r.holdSeconds * 1000;
  if (!byDecisions && !byTime) return { kind: "hold", verdict };
  const next = r.steps[r.stepIndex + 1];
  return next === undefined ? { kind: "promote", verdict } : { kind: "advance", verdict, percent: next };
}

export function round(v: number): number {
  return Math.round(v * 10000) / 10000;
}
