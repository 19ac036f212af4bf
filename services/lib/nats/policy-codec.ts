import { clone, fromJson, toJsonString } from "@bufbuild/protobuf";
import { RolloutState, ServingPolicySchema, type ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import { kvCodec } from "./kv-codec.js";
import { segmentsProblem } from "../segments/index.js";
import { poolsProblem } from "./version-pools.js";

/**
 * The schema version of the serving policies this build writes without segment rules
 * (scoremesh.policy.v1.ServingPolicy.schema_version); a policy with segment rules is written as
 * POLICY_SEGMENTS_SCHEMA_VERSION, which a build that ignores segments refuses (it would misroute their rows).
 */
export const POLICY_SCHEMA_VERSION = 2;
export const POLICY_SEGMENTS_SCHEMA_VERSION = 3;

/** The schema version a policy is written (and read back) with: 3 when it has segment rules, 2 otherwise. */
export function policySchemaVersion(p: Pick<ServingPolicy, "segments">): number {
  return p.segments.length > 0 ? POLICY_SEGMENTS_SCHEMA_VERSION : POLICY_SCHEMA_VERSION;
}

/** The most a canary may take, in percent; and the granularity of its share (basis points of the 0..9999 buckets). */
export const CANARY_MAX_PERCENT = 100;

const policyCodec = kvCodec({
  what: "serving policy",
  schema: ServingPolicySchema,
  version: POLICY_SEGMENTS_SCHEMA_VERSION,
  // Policies written before schema versions are the same message without the field.
  upgrade: (legacy) => fromJson(ServingPolicySchema, legacy),
  // Version 1 had the fields of 2 but the canary; 2 those of 3 but the segment rules.
  older: {
    1: (v1) => fromJson(ServingPolicySchema, v1, { ignoreUnknownFields: true }),
    2: (v2) => fromJson(ServingPolicySchema, v2, { ignoreUnknownFields: true }),
  },
  problem: policyProblem,
});

/** What is wrong with a policy that parsed, naming the field; undefined when nothing is. */
export function policyProblem(p: ServingPolicy): string | undefined {
  if (!p.model) return "model is empty";
  if (!p.championVersion) return "championVersion is empty";
  return (
    shadowProblem(p) ??
    canaryProblem(p) ??
    cascadeProblem(p) ??
    segmentsProblem(p.segments) ??
    rolloutProblem(p) ??
    poolsProblem(p.pools)
  );
}

/** What is wrong with the policy's light → heavy cascade (none is fine), naming the field. */
function cascadeProblem(p: ServingPolicy): string | undefined {
  if (!p.cascade) return undefined;
  const { lightVersion, bandLow, bandHigh } = p.cascade;
  if (!lightVersion) return "cascade.lightVersion is empty";
  if (lightVersion === p.championVersion) return `cascade.lightVersion is the champion's (${p.championVersion})`;
  if (!Number.isFinite(bandLow) || bandLow < 0 || bandLow >= 1)
    return `cascade.bandLow must be in [0, 1), got ${bandLow}`;
  if (!Number.isFinite(bandHigh) || bandHigh <= bandLow || bandHigh > 1)
    return `cascade.bandHigh must be in (bandLow, 1], got ${bandHigh}`;
  return undefined;
}

/** What is wrong with the policy's rollout (none is fine), naming the field. A finished one needs no canary. */
export function rolloutProblem(p: ServingPolicy): string | undefined {
  const r = p.rollout;
  if (!r) return undefined;
  if (!r.version) return "rollout.version is empty";
  if (r.steps.length === 0) return "rollout.steps is empty";
  for (let i = 0; i < r.steps.length; i++) {
    const s = r.steps[i]!;
    if (!Number.isFinite(s) || s <= 0 || s > CANARY_MAX_PERCENT || (i > 0 && s <= r.steps[i - 1]!))
      return `rollout.steps must increase within (0, ${CANARY_MAX_PERCENT}], got ${r.steps.join(",")}`;
  }
  if (r.stepIndex >= r.steps.length) return `rollout.stepIndex ${r.stepIndex} is past the last step`;
  if (r.holdDecisions === 0 && r.holdSeconds === 0) return "rollout needs holdDecisions or holdSeconds";
  if (r.state !== RolloutState.RUNNING) return undefined;
  if (p.canary?.version !== r.version) return `rollout.version ${r.version} is running but is not the canary`;
  return undefined;
}

/** What is wrong with the policy's shadow (none is fine), naming the field. */
function shadowProblem(p: ServingPolicy): string | undefined {
  if (!p.shadow) return undefined;
  if (!p.shadow.version) return "shadow.version is empty";
  if (p.shadow.version === p.championVersion) return `shadow.version is the champion's (${p.championVersion})`;
  const rate = p.shadow.sampleRate;
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1) return `shadow.sampleRate must be in (0, 1], got ${rate}`;
  return undefined;
}

function canaryProblem(p: ServingPolicy): string | undefined {
  if (!p.canary) return undefined;
  if (!p.canary.version) return "canary.version is empty";
  if (p.canary.version === p.championVersion) return `canary.version is the champion's (${p.championVersion})`;
  const pct = p.canary.percent;
  if (!Number.isFinite(pct) || pct <= 0 || pct > CANARY_MAX_PERCENT)
    return `canary.percent must be in (0, ${CANARY_MAX_PERCENT}], got ${pct}`;
  return undefined;
}

/** Protobuf JSON of a serving policy, as the policy bucket keeps it. */
export function encodePolicy(policy: ServingPolicy): string {
  const out = clone(ServingPolicySchema, policy);
  out.schemaVersion = policySchemaVersion(policy);
  return toJsonString(ServingPolicySchema, out);
}

/** A serving policy from the policy bucket (of any schema version this build reads); throws `KvValueError`. */
export function decodePolicy(json: string): ServingPolicy {
  const p = policyCodec.decode(json);
  p.schemaVersion = policySchemaVersion(p);
  return p;
}
