import { create } from "@bufbuild/protobuf";
import { CascadeSchema, ServingPolicySchema } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { keptFields } from "../../services/lib/nats/index.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import { changePolicy, current } from "./rollout.js";
import { checkServable } from "./version-check.js";
import type { MeshTarget } from "./target.js";

/**
 * `meshctl cascade MODEL LIGHT --band LOW,HIGH`: LIGHT scores the champion's rows first and decides those whose
 * score lies outside [LOW, HIGH); the rest go on to the champion. Refused unless a worker has LIGHT ready.
 */
export async function setCascade(target: MeshTarget, model: string, light: string, bandText: string, out: Output) {
  const [low, high] = parseBand(bandText);
  const p = await changePolicy(
    target,
    model,
    (at) => ({
      ...keptFields(current(model, at)),
      cascade: create(CascadeSchema, { lightVersion: light, bandLow: low, bandHigh: high }),
    }),
    async (nc, at) => {
      if (current(model, at).championVersion === light)
        throw new CliError(`version ${light} is the champion of ${model}: the light model must be another version`);
      await checkServable(target, nc, model, light);
    },
  );
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else
    console.log(
      `${model}: version ${light} scores first; rows it scores in [${low}, ${high}) go on to champion ${p.championVersion} (signed by ${p.updatedBy}).`,
    );
}

/** `meshctl cascade MODEL --off`: the champion scores every row again. */
export async function cascadeOff(target: MeshTarget, model: string, out: Output) {
  const p = await changePolicy(target, model, (at) => {
    const p = current(model, at);
    if (!p.cascade)
      throw new CliError(`${model} has no cascade (meshctl cascade ${model} LIGHT --band LOW,HIGH sets one)`);
    return { ...keptFields(p), cascade: undefined };
  });
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else
    console.log(
      `${model}: cascade removed; champion ${p.championVersion} scores every row (signed by ${p.updatedBy}).`,
    );
}

/** "0.2,0.7" → [0.2, 0.7], with 0 ≤ low < high ≤ 1. */
export function parseBand(text: string | undefined): [number, number] {
  const parts = (text ?? "").split(",").map((x) => Number(x.trim()));
  const [low, high] = parts;
  if (parts.length !== 2 || !Number.isFinite(low) || !Number.isFinite(high) || low! < 0 || high! > 1 || low! >= high!)
    throw new CliError(`--band must be LOW,HIGH with 0 <= LOW < HIGH <= 1, got ${JSON.stringify(text ?? "")}`, 2);
  return [low!, high!];
}
