import { Decision, Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { DecisionRecord } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { RolloutState, type ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import { ArmSample, type DecisionName } from "../../lib/stats/index.js";

/** What a step's window compares: the model's champion and canary versions, from when the step began. */
export interface WindowKey {
  model: string;
  champion: string;
  canary: string;
  stepIndex: number;
  /** ms since the epoch: decisions before this are not the step's. */
  since: number;
}

/** The window key of the policy's running rollout step; undefined when no rollout is running. */
export function stepKeyOf(p: ServingPolicy): WindowKey | undefined {
  const r = p.rollout;
  if (!r || r.state !== RolloutState.RUNNING || !p.canary) return undefined;
  const since = r.stepStartedAt ? Number(r.stepStartedAt.seconds) * 1000 + r.stepStartedAt.nanos / 1e6 : 0;
  return { model: p.model, champion: p.championVersion, canary: r.version, stepIndex: r.stepIndex, since };
}

/** A step's two arms. */
export interface StepWindow {
  key: WindowKey;
  champion: ArmSample;
  canary: ArmSample;
}

const DECISIONS: Partial<Record<Decision, DecisionName>> = {
  [Decision.APPROVE]: "approve",
  [Decision.REVIEW]: "review",
  [Decision.DECLINE]: "decline",
};

/**
 * The decision records of each running rollout's current step, split by arm: route CANARY with the canary's
 * version, route PRIMARY with the champion's, decided at or after the step began (comparable traffic: the same
 * window). Records of other versions or routes (fallback, rules), shadow records and older ones are left out.
 */
export class RolloutWindows {
  private readonly windows = new Map<string, StepWindow>();

  /** The model's window for `key`, a new empty one when the step (or its versions) changed. */
  open(key: WindowKey): StepWindow {
    const w = this.windows.get(key.model);
    if (w && JSON.stringify(w.key) === JSON.stringify(key)) return w;
    const fresh = { key, champion: new ArmSample(), canary: new ArmSample() };
    this.windows.set(key.model, fresh);
    return fresh;
  }

  /** Forgets the model's window (its rollout ended). */
  close(model: string): void {
    this.windows.delete(model);
  }

  add(r: DecisionRecord): void {
    const w = this.windows.get(r.model);
    if (!w || r.shadowOf) return;
    const at = r.decidedAt ? Number(r.decidedAt.seconds) * 1000 + Math.floor(r.decidedAt.nanos / 1e6) : Date.now();
    if (at < w.key.since) return;
    const arm =
      r.route === Route.CANARY && r.modelVersion === w.key.canary
        ? w.canary
        : r.route === Route.PRIMARY && r.modelVersion === w.key.champion
          ? w.champion
          : undefined;
    arm?.add({
      score: r.score,
      decision: DECISIONS[r.decision],
      degraded: r.degraded,
      latencyMs: r.latencyMs,
      segment: r.segment,
    });
  }
}
