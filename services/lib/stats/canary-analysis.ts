import { ksCritical, ksDistance } from "./ks.js";
import { psi } from "./psi.js";
import { twoProportionZ } from "./rates.js";
import type { ArmCounts, ArmSample, DecisionName } from "./arm-sample.js";

/** The limits of a canary analysis (a rollout's thresholds; defaults in DEFAULT_CANARY_THRESHOLDS). */
export interface CanaryThresholds {
  /** Both arms need this many decisions (overall, or in a segment) before a check says anything. */
  minSample: number;
  /** Canary degraded share minus champion's, in points of share (0.02: two percentage points). */
  maxDegradedIncrease: number;
  /** Canary p99 latency may be at most champion p99 × ratio + slack. */
  maxP99Ratio: number;
  maxP99SlackMs: number;
  /** PSI of the canary's scores against the champion's (ten bins over [0, 1]). */
  maxScorePsi: number;
  /** |canary rate − champion rate| of approve, review and decline, in share. */
  maxDecisionRateShift: number;
  /** A share difference breaches only when it is also beyond chance: |two-proportion z| above this. */
  zCritical: number;
}

/**
 * Defaults, chosen so that a recalibrated but sound challenger (credit-default 4 against 3: mean |score diff|
 * 0.021, decisions agree 95 % in shadow) passes and an inverted one (approve and decline swapped) breaches at
 * once: decision shares may move 10 points, the score PSI reach 0.25 (the usual "real shift" line), each only
 * when also significant at 1 % (z 2.58, KS at α 0.01), so that 200-decision samples do not trip by chance.
 */
export const DEFAULT_CANARY_THRESHOLDS: CanaryThresholds = {
  minSample: 200,
  maxDegradedIncrease: 0.02,
  maxP99Ratio: 2,
  maxP99SlackMs: 25,
  maxScorePsi: 0.25,
  maxDecisionRateShift: 0.1,
  zCritical: 2.58,
};

/** One check's reading: its value against its limit, and whether it passed (`waiting`: too few decisions). */
export interface CanaryCheck {
  /** e.g. "approve_rate", "score_psi", "segment limit_band=high approve_rate". */
  name: string;
  /** The segment ("key=value"), empty for the whole arm. */
  segment: string;
  value: number;
  limit: number;
  state: "pass" | "breach" | "waiting";
  championSample: number;
  canarySample: number;
}

export interface CanaryVerdict {
  /** "breach" as soon as one check breaches; "pass" when none does (waiting checks do not block). */
  verdict: "pass" | "breach";
  checks: CanaryCheck[];
  /** The breached checks' names. */
  breached: string[];
}

/**
 * Compares a canary arm against the champion arm on comparable traffic (the same window): degraded share, p99
 * latency, score distribution (PSI, confirmed by KS), decision shares; and the same (but latency) per segment.
 * Each check waits until both arms have `minSample` decisions, so a small segment cannot trip it by chance. Pure.
 */
export function canaryAnalysis(
  champion: ArmSample,
  canary: ArmSample,
  t: CanaryThresholds = DEFAULT_CANARY_THRESHOLDS,
): CanaryVerdict {
  const checks = [...countChecks(champion.all, canary.all, "", t), latencyCheck(champion, canary, t)];
  for (const [seg, c] of canary.segments) {
    const ch = champion.segments.get(seg);
    if (ch) checks.push(...countChecks(ch, c, seg, t));
  }
  const breached = checks.filter((c) => c.state === "breach").map(checkLabel);
  return { verdict: breached.length > 0 ? "breach" : "pass", checks, breached };
}

/** "approve_rate" or "approve_rate [limit_band=high]". */
export function checkLabel(c: CanaryCheck): string {
  return c.segment ? `${c.name} [${c.segment}]` : c.name;
}

function countChecks(a: ArmCounts, b: ArmCounts, segment: string, t: CanaryThresholds): CanaryCheck[] {
  const base = { segment, championSample: a.decisions, canarySample: b.decisions };
  const enough = a.decisions >= t.minSample && b.decisions >= t.minSample;
  const share = (name: string, hits: (c: ArmCounts) => number, limit: number, oneSided: boolean): CanaryCheck => {
    const pa = { total: a.decisions, hits: hits(a) };
    const pb = { total: b.decisions, hits: hits(b) };
    const diff = rate(pb) - rate(pa);
    const z = twoProportionZ(pa, pb);
    const over = oneSided ? diff > limit && z > t.zCritical : Math.abs(diff) > limit && Math.abs(z) > t.zCritical;
    return { ...base, name, value: diff, limit, state: !enough ? "waiting" : over ? "breach" : "pass" };
  };
  const psiValue = psi(a.scoreBins, b.scoreBins);
  const ksSignificant = ksDistance(a.scoreBins, b.scoreBins) > ksCritical(a.decisions, b.decisions);
  const psiBreach = psiValue > t.maxScorePsi && ksSignificant;
  return [
    share("degraded_rate", (c) => c.degraded, t.maxDegradedIncrease, true),
    ...(["approve", "review", "decline"] as DecisionName[]).map((d) =>
      share(`${d}_rate`, (c) => c[d], t.maxDecisionRateShift, false),
    ),
    {
      ...base,
      name: "score_psi",
      value: psiValue,
      limit: t.maxScorePsi,
      state: !enough ? "waiting" : psiBreach ? "breach" : "pass",
    },
  ];
}

function latencyCheck(champion: ArmSample, canary: ArmSample, t: CanaryThresholds): CanaryCheck {
  const a = champion.all.decisions;
  const b = canary.all.decisions;
  const limit = champion.latencyQuantile(0.99) * t.maxP99Ratio + t.maxP99SlackMs;
  const value = canary.latencyQuantile(0.99);
  const enough = a >= t.minSample && b >= t.minSample;
  const state = !enough ? "waiting" : value > limit ? "breach" : "pass";
  return { name: "p99_latency_ms", segment: "", value, limit, state, championSample: a, canarySample: b };
}

function rate(p: { total: number; hits: number }): number {
  return p.total === 0 ? 0 : p.hits / p.total;
}
