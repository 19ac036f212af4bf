import { create } from "@bufbuild/protobuf";
import { SegmentRuleSchema, ServingPolicySchema, type ServingPolicy } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { keptFields } from "../../services/lib/nats/index.js";
import { parseWhere, segmentsProblem, SegmentWhereError } from "../../services/lib/segments/index.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import { changePolicy, current } from "./rollout.js";
import { checkServable } from "./version-check.js";
import type { MeshTarget } from "./target.js";

/**
 * `meshctl segment MODEL NAME VERSION --where EXPR`: the rows for which EXPR holds go to VERSION (a rule of that
 * name is replaced in place, keeping its order; a new one goes last). Refused (exit 1, with the reason) when EXPR
 * is over a protected attribute or an input the model's spec marks sensitive or does not have, or when no model
 * worker has VERSION ready; a malformed EXPR is bad usage (exit 2).
 */
export async function setSegment(
  target: MeshTarget,
  model: string,
  name: string,
  version: string,
  where: string,
  out: Output,
) {
  checkWhere(target, model, where);
  const p = await changePolicy(
    target,
    model,
    (at) => {
      const p = current(model, at);
      const rule = create(SegmentRuleSchema, { name, version, where });
      const i = p.segments.findIndex((r) => r.name === name);
      const segments = i < 0 ? [...p.segments, rule] : p.segments.map((r, k) => (k === i ? rule : r));
      const problem = segmentsProblem(segments);
      if (problem) throw new CliError(`refused: ${problem}`);
      return { ...keptFields(p), segments };
    },
    (nc) => checkServable(target, nc, model, version),
  );
  report(p, out, `segment ${name} of ${model}: rows where ${where} go to version ${version}`);
}

/** `meshctl segment MODEL NAME --off`: the rule removed; its rows go back to the canary split and the champion. */
export async function segmentOff(target: MeshTarget, model: string, name: string, out: Output) {
  const p = await changePolicy(target, model, (at) => {
    const p = current(model, at);
    if (!p.segments.some((r) => r.name === name))
      throw new CliError(
        `${model} has no segment ${name} (segments: ${p.segments.map((r) => r.name).join(", ") || "none"})`,
      );
    return { ...keptFields(p), segments: p.segments.filter((r) => r.name !== name) };
  });
  report(p, out, `segment ${name} of ${model} removed`);
}

/** Refuses a `where` that does not parse (exit 2), or that names a protected, sensitive or unknown input (exit 1). */
function checkWhere(target: MeshTarget, model: string, where: string): void {
  let conditions;
  try {
    conditions = parseWhere(where);
  } catch (err) {
    if (!(err instanceof SegmentWhereError)) throw err;
    const refused = /protected attribute/.test(err.message);
    throw new CliError(`${refused ? "refused: " : ""}--where ${err.message}`, refused ? 1 : 2);
  }
  const repo = new ModelRepository(target.repository());
  if (!repo.models().includes(model)) return; // checkServable names the unknown model
  const inputs = repo.spec(model).inputs;
  for (const c of conditions) {
    if (c.kind !== "input") continue;
    const input = inputs.find((i) => i.name === c.name);
    if (!input)
      throw new CliError(
        `refused: --where ${c.name} is not an input of ${model} (inputs: ${inputs.map((i) => i.name).join(", ")})`,
      );
    if (input.sensitive)
      throw new CliError(
        `refused: --where ${c.name} is sensitive in ${model}'s spec: a model version may not be chosen by it`,
      );
  }
}

/** "  segment branch: label.channel=branch → version 4" */
export function segmentLine(r: { name: string; version: string; where: string }): string {
  return `  segment ${r.name}: ${r.where} → version ${r.version}`;
}

function report(p: ServingPolicy, out: Output, line: string) {
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else console.log(`${line} (signed by ${p.updatedBy}); segment rules come before the canary, first match wins.`);
}
