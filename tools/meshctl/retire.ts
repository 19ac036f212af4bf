import type { ServingPolicy } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { MODEL_BUCKET, ModelStore, PolicyStore } from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { CliError, printJson, type Output } from "./output.js";
import { operatorName } from "./publish.js";
import type { MeshTarget } from "./target.js";
import { publishedVersions } from "./version-check.js";

/**
 * Why `version` may not be retired: the policy points to it (champion, canary or shadow), or it is the model's
 * fallback (the routers' default: the lowest-numbered logistic regression of the repository); undefined when it
 * may. Pure.
 */
export function retireProblem(
  model: string,
  version: string,
  policy: Pick<ServingPolicy, "championVersion" | "canary" | "shadow" | "cascade"> | undefined,
  fallback: string | undefined,
): string | undefined {
  const arms = [
    policy?.championVersion === version ? "champion" : undefined,
    policy?.canary?.version === version ? "canary" : undefined,
    policy?.shadow?.version === version ? "shadow" : undefined,
    policy?.cascade?.lightVersion === version ? "cascade's light model" : undefined,
    fallback === version ? "fallback (the lowest-numbered logistic regression)" : undefined,
  ].filter((a) => a !== undefined);
  if (arms.length === 0) return undefined;
  return `refused: version ${version} is the ${arms.join(" and ")} of ${model}; point the policy elsewhere first (meshctl set-champion / rollback / shadow --off / cascade --off)`;
}

/**
 * `meshctl retire MODEL VERSION`: from now on no policy may point to the version (the policy commands refuse it
 * with the reason) and workers drain and unload it; its files stay where they are (the model store, or the repository
 * for a shipped version) so audit replay can still score with it. Refused while a policy or the fallback points to it.
 */
export async function retire(target: MeshTarget, model: string, version: string, out: Output) {
  const repo = new ModelRepository(target.repository());
  if (!repo.models().includes(model))
    throw new CliError(`unknown model ${model} (repository has: ${repo.models().join(", ")})`);
  const result = await withNats(target, async (nc) => {
    const store = await publishedVersions(nc, model);
    const done = store.retired.find((r) => r.version === version);
    if (done) return { ...done, status: "already retired", filesIn: filesIn(repo, model, version) };
    const versions = new Set([...repo.versions(model), ...store.published]);
    if (!versions.has(version))
      throw new CliError(
        `${model} has no version ${version} (versions: ${[...versions].sort((a, b) => Number(a) - Number(b)).join(", ")})`,
      );
    const policy = await (await PolicyStore.open(nc, { trusted: target.trustedOperators() })).get(model);
    const problem = retireProblem(model, version, policy, lightest(repo, model));
    if (problem) throw new CliError(problem);
    const r = await (await ModelStore.open(nc, { create: true }))!.retire(model, version, operatorName(target));
    return { ...r, status: "retired", filesIn: filesIn(repo, model, version) };
  });
  if (out.json) return printJson(result);
  console.log(
    `${result.status === "retired" ? "retired" : "already retired:"} ${model} version ${version} (by ${result.retiredBy} at ${result.retiredAt}): ` +
      `no policy may point to it any more and workers unload it; its files stay in ${result.filesIn} for audit replay.`,
  );
}

function filesIn(repo: ModelRepository, model: string, version: string): string {
  return repo.shipped(model, version)
    ? `the model repository (${repo.folder(model, version)})`
    : `the model store (${MODEL_BUCKET})`;
}

/** The routers' default fallback version: the repository's lowest-numbered logistic regression. */
function lightest(repo: ModelRepository, model: string): string | undefined {
  return repo.versions(model).find((v) => repo.card(model, v).algorithm === "logistic_regression");
}
