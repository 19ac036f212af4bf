import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ReplayInputsSchema } from "../../gen/scoremesh/router/v1/router_pb.js";
import { AUDIT_ENTITY_FEATURES_FIELD, AUDIT_INPUTS_FIELD, encodeNumberMap } from "../lib/audit/index.js";
import type { EntityValues, FeatureSpec } from "../lib/model/index.js";

export type ReplayInputsInit = MessageInitShape<typeof ReplayInputsSchema>;

const SENSITIVE = new WeakMap<FeatureSpec, ReadonlySet<string>>();

/** The spec's protected inputs (`sensitive`), worked out once per spec. */
function sensitiveOf(spec: FeatureSpec): ReadonlySet<string> {
  let s = SENSITIVE.get(spec);
  if (!s) {
    s = new Set(spec.inputs.filter((i) => i.sensitive).map((i) => i.name));
    SENSITIVE.set(spec, s);
  }
  return s;
}

const NONE = new Uint8Array(0);

/**
 * What the audit record keeps of a row to replay it (docs/audit.md), encoded as the record's map entries so that
 * the router copies them without decoding: the validated inputs without the protected attributes (no feature may
 * read those: checkSpec refuses such a spec, so the vector never depends on them), and the entity features the
 * vector was built from (undefined values, imputed, are left out).
 */
export function replayInputs(
  spec: FeatureSpec,
  inputs: Readonly<Record<string, number>>,
  entity: EntityValues | undefined,
): ReplayInputsInit {
  return {
    inputs: encodeNumberMap(AUDIT_INPUTS_FIELD, inputs, sensitiveOf(spec)),
    entity: entity ? encodeNumberMap(AUDIT_ENTITY_FEATURES_FIELD, entity) : NONE,
  };
}
