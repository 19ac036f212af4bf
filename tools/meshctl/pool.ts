import { create } from "@bufbuild/protobuf";
import type { NatsConnection } from "nats";
import { ServingPolicySchema, VersionPoolSchema } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import {
  keptFields,
  labelProblem,
  PolicyStore,
  WorkerStore,
  type WorkerRecord,
} from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import { changePolicy, current } from "./rollout.js";
import { servingProblem } from "./version-check.js";
import type { MeshTarget } from "./target.js";

/**
 * Why `version` may not be pooled on `label`, from the live workers' records (the worker bucket); undefined when
 * a worker carrying the label has it ready. Pure.
 */
export function poolProblem(
  model: string,
  version: string,
  label: string,
  workers: readonly Pick<WorkerRecord, "address" | "labels" | "models">[],
): string | undefined {
  const carrying = workers.filter((w) => w.labels?.includes(label));
  if (carrying.length === 0) {
    const seen = workers.map((w) => `${w.address} ${(w.labels ?? []).join(",") || "(none)"}`);
    return `refused: no live model worker carries label ${label} (${workers.length} worker(s) report; labels: ${seen.join("; ") || "none"}); label workers with WORKER_LABELS`;
  }
  const ready = carrying.filter((w) => w.models.some((m) => m.model === model && m.version === version && m.ready));
  if (ready.length > 0) return undefined;
  return `refused: no model worker labelled ${label} has ${model} version ${version} ready (labelled: ${carrying.map((w) => w.address).join(", ")})`;
}

/** `meshctl pool MODEL VERSION --label L`: VERSION's rows go only to workers labelled L (any worker when none is ready). */
export async function setPool(target: MeshTarget, model: string, version: string, label: string, out: Output) {
  const bad = labelProblem(label, "--label");
  if (bad) throw new CliError(bad, 2);
  const p = await changePolicy(
    target,
    model,
    (at) => {
      const p = current(model, at);
      const pools = [...p.pools.filter((x) => x.version !== version), create(VersionPoolSchema, { version, label })];
      return { ...keptFields(p), pools: pools.sort((a, b) => Number(a.version) - Number(b.version)) };
    },
    async (nc) => {
      const problem =
        (await servingProblem(target, nc, model, version)) ?? poolProblem(model, version, label, await liveWorkers(nc));
      if (problem) throw new CliError(problem);
    },
  );
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else
    console.log(
      `${model}: version ${version} is served by the workers labelled ${label} (any worker when none of them has it ready; signed by ${p.updatedBy}).`,
    );
}

/** `meshctl pool MODEL VERSION --off`: any worker serves VERSION again. */
export async function poolOff(target: MeshTarget, model: string, version: string, out: Output) {
  const p = await changePolicy(target, model, (at) => {
    const p = current(model, at);
    if (!p.pools.some((x) => x.version === version))
      throw new CliError(
        `${model} version ${version} has no pool rule (meshctl pool ${model} ${version} --label L sets one)`,
      );
    return { ...keptFields(p), pools: p.pools.filter((x) => x.version !== version) };
  });
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else console.log(`${model}: version ${version} has no pool rule; any worker serves it (signed by ${p.updatedBy}).`);
}

/** `meshctl pool MODEL`: the model's pool rules and the live workers' labels. */
export async function poolStatus(target: MeshTarget, model: string, out: Output) {
  const { policy, workers } = await withNats(target, async (nc) => ({
    policy: await (await PolicyStore.open(nc, { trusted: target.trustedOperators() })).get(model),
    workers: await liveWorkers(nc),
  }));
  if (!policy) throw new CliError(`no serving policy for ${model} (npm start or meshctl seed-policies writes one)`);
  const rules = policy.pools.map(({ version, label }) => ({ version, label }));
  const labels = workers.map((w) => ({ address: w.address, labels: w.labels ?? [] }));
  if (out.json) return printJson({ model, pools: rules, workers: labels });
  console.log(
    [
      rules.length ? `${model} pools:` : `${model}: no pool rules (any worker serves every version)`,
      ...rules.map((r) => `  version ${r.version} → workers labelled ${r.label}`),
      "workers:",
      ...labels.map((w) => `  ${w.address}: ${w.labels.join(", ") || "(no labels)"}`),
    ].join("\n"),
  );
}

async function liveWorkers(nc: NatsConnection): Promise<WorkerRecord[]> {
  try {
    return await (await WorkerStore.open(nc)).list();
  } catch (err) {
    throw new CliError(`cannot read the model workers' records (is any worker running?): ${(err as Error).message}`);
  }
}
