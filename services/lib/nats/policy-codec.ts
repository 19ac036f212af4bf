import { fromJson } from "@bufbuild/protobuf";
import { ServingPolicySchema, type ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import { kvCodec } from "./kv-codec.js";

/** The schema version of the serving policies this build writes (scoremesh.policy.v1.ServingPolicy.schema_version). */
export const POLICY_SCHEMA_VERSION = 1;

const policyCodec = kvCodec({
  what: "serving policy",
  schema: ServingPolicySchema,
  version: POLICY_SCHEMA_VERSION,
  // Policies written before schema versions are the same message without the field.
  upgrade: (legacy) => fromJson(ServingPolicySchema, legacy),
  problem: (p) => (!p.model ? "model is empty" : !p.championVersion ? "championVersion is empty" : undefined),
});

/** Protobuf JSON of a serving policy, as the policy bucket keeps it. */
export function encodePolicy(policy: ServingPolicy): string {
  return policyCodec.encode(policy);
}

/** A serving policy from the policy bucket (of any schema version this build reads); throws `KvValueError`. */
export function decodePolicy(json: string): ServingPolicy {
  return policyCodec.decode(json);
}
