import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import {
  CanarySchema,
  RolloutSchema,
  RolloutState,
  type ServingPolicy,
} from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import { keptFields, type HistoryCheck, type PolicyFields } from "../../lib/nats/index.js";
import type { CanaryCheck } from "../../lib/stats/index.js";
import type { StepAction } from "./step.js";

/** The policy after `action` (not "hold"): one value, so a step is applied whole or not at all. */
export function afterAction(p: ServingPolicy, action: Exclude<StepAction, { kind: "hold" }>): PolicyFields {
  const r = p.rollout!;
  const fields = keptFields(p);
  if (action.kind === "advance") {
    return {
      ...fields,
      canary: create(CanarySchema, { version: r.version, percent: action.percent }),
      rollout: create(RolloutSchema, { ...r, stepIndex: r.stepIndex + 1, stepStartedAt: timestampNow() }),
    };
  }
  if (action.kind === "promote") {
    const reason = `every step passed (${r.steps.join(", ")} %): version ${r.version} promoted`;
    return {
      ...fields,
      championVersion: r.version,
      canary: undefined,
      shadow: p.shadow?.version === r.version ? undefined : p.shadow,
      // A cascade whose light model is now the champion would be refused: it goes.
      cascade: p.cascade?.lightVersion === r.version ? undefined : p.cascade,
      rollout: create(RolloutSchema, { ...r, state: RolloutState.PROMOTED, reason }),
    };
  }
  return {
    ...fields,
    canary: undefined,
    rollout: create(RolloutSchema, { ...r, state: RolloutState.ROLLED_BACK, reason: action.reason }),
  };
}

/** What an action did, for the history: `what` and `why`. */
export function describe(
  p: ServingPolicy,
  action: Exclude<StepAction, { kind: "hold" }>,
): { what: string; why: string } {
  const r = p.rollout!;
  if (action.kind === "advance")
    return { what: `canary ${r.version} at ${action.percent} %`, why: `rollout step ${r.stepIndex + 1} passed` };
  if (action.kind === "promote") return { what: `champion ${r.version} (promoted)`, why: `rollout: every step passed` };
  return { what: `canary ${r.version} rolled back`, why: action.reason };
}

export function historyChecks(checks: CanaryCheck[]): HistoryCheck[] {
  return checks.map((c) => ({ ...c }));
}
