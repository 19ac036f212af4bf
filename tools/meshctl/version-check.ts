import type { NatsConnection } from "nats";
import { ModelRepository } from "../../services/lib/model/index.js";
import { ModelStore, WorkerStore, type Retirement, type WorkerRecord } from "../../services/lib/nats/index.js";
import { CliError } from "./output.js";
import type { MeshTarget } from "./target.js";

/**
 * Refuses (exit 1, with the reason) a version that a policy may not point to: neither in the model repository nor
 * published to the model store (meshctl publish), retired (meshctl retire), or not ready on any model worker (none loaded and warmed it; a worker that refuses it says why, e.g. the skew
 * guard). The workers' own records in the worker bucket say what they have ready.
 */
export async function checkServable(target: MeshTarget, nc: NatsConnection, model: string, version: string) {
  const problem = await servingProblem(target, nc, model, version);
  if (problem) throw new CliError(problem);
}

/** Why a policy may not point to `version` (see checkServable), or undefined when a worker has it ready. */
export async function servingProblem(
  target: MeshTarget,
  nc: NatsConnection,
  model: string,
  version: string,
): Promise<string | undefined> {
  const repo = new ModelRepository(target.repository());
  if (!repo.models().includes(model))
    return `unknown model ${model} (repository ${target.repository()} has: ${repo.models().join(", ")})`;
  const store = await publishedVersions(nc, model);
  const retired = store.retired.find((r) => r.version === version);
  if (retired) return retiredProblem(retired);
  const versions = [...new Set([...repo.versions(model), ...store.published])].sort((a, b) => Number(a) - Number(b));
  if (!versions.includes(version)) return `${model} has no version ${version} (versions: ${versions.join(", ")})`;
  const workers = await workerRecords(nc);
  if (workers.some((w) => w.models.some((m) => m.model === model && m.version === version && m.ready)))
    return undefined;
  const refusals = workers.flatMap((w) =>
    w.refused.filter((r) => r.model === model && r.version === version).map((r) => `${w.address}: ${r.reason}`),
  );
  const ready = [
    ...new Set(workers.flatMap((w) => w.models.filter((m) => m.model === model && m.ready).map((m) => m.version))),
  ];
  return (
    `refused: no model worker has ${model} version ${version} ready (${workers.length} worker(s) report; ready: ${ready.join(", ") || "none"})` +
    (refusals.length ? `; refused by ${refusals.join("; ")}` : "")
  );
}

async function workerRecords(nc: NatsConnection): Promise<WorkerRecord[]> {
  try {
    return await (await WorkerStore.open(nc)).list();
  } catch (err) {
    throw new CliError(`cannot read the model workers' records (is any worker running?): ${(err as Error).message}`);
  }
}

/** The reason a retired version is refused. */
export function retiredProblem(r: Retirement): string {
  return (
    `refused: ${r.model} version ${r.version} was retired by ${r.retiredBy} at ${r.retiredAt}: ` +
    `no policy may point to it (publish it again under a new version number)`
  );
}

/** The model's versions in the model store and its retirements (none when the store does not exist yet). */
export async function publishedVersions(nc: NatsConnection, model: string) {
  try {
    const store = await ModelStore.open(nc);
    const all = store ? await store.list() : { published: [], retired: [] };
    return {
      published: all.published.filter((p) => p.model === model).map((p) => p.version),
      retired: all.retired.filter((r) => r.model === model),
    };
  } catch (err) {
    throw new CliError(`cannot read the model store: ${(err as Error).message}`);
  }
}
