import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ReplayInputsSchema } from "../../gen/scoremesh/router/v1/router_pb.js";
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

/**
 * What the audit record keeps of a row to replay it (docs/audit.md): the validated inputs without the protected
 * attributes (no feature may read those: checkSpec refuses such a spec, so the vector never depends on them), and
 * the entity features the vector was built from (undefined values, imputed, are left out).
 */
export function replayInputs(
  spec: FeatureSpec,
  inputs: Readonly<Record<string, number>>,
  entity: EntityValues | undefined,
): ReplayInputsInit {
  const sensitive = sensitiveOf(spec);
  const kept: Record<string, number> = {};
  for (const k in inputs) if (!sensitive.has(k)) kept[k] = inputs[k]!;
  const ent: Record<string, number> = {};
  if (entity) for (const k in entity) if (entity[k] !== undefined) ent[k] = entity[k];
  return { inputs: kept, entity: ent };
}
