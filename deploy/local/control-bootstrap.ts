import { readFileSync } from "node:fs";
import { connect } from "nats";
import { ModelRepository, seedChampion } from "../../services/lib/model/index.js";
import {
  bootstrapPolicies,
  identityOptions,
  ModelStore,
  operatorSigner,
  parseTrustedOperators,
  PolicyStore,
  type PolicyBootstrap,
} from "../../services/lib/nats/index.js";
import { EnvReader, natsIdentity } from "../../services/lib/service/index.js";
import { ensureAuditStream } from "../../services/lib/audit/index.js";
import type { MeshKeys } from "./nats-identities.js";

/**
 * What the control side does before any service starts: creates the policy bucket (readers may not) and gives
 * every model of the repository a signed serving policy with the launcher's operator key (see
 * bootstrapPolicies: seeds the missing, re-signs unsigned ones from older builds, never overwrites a value signed
 * by an untrusted key), and creates the audit stream (SCOREMESH_AUDIT) when missing. Returns what it did, per model.
 */
export async function bootstrapControl(natsUrl: string, keys: MeshKeys, modelRepository: string) {
  const trusted = parseTrustedOperators(readFileSync(keys.trustedOperatorsFile, "utf8"));
  const signer = operatorSigner(readFileSync(keys.launcherOperatorKeyFile, "utf8"));
  const identity = natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: keys.seedFile.control }));
  const nc = await connect({ servers: natsUrl, name: "launcher", timeout: 5000, ...identityOptions(identity) });
  try {
    await ensureAuditStream(await nc.jetstreamManager());
    await ModelStore.open(nc, { create: true }); // the published-versions store, so workers and routers find it

    const store = await PolicyStore.open(nc, { trusted, signer });
    const repo = new ModelRepository(modelRepository);
    const seed = (m: string) => seedChampion(repo.versions(m).map((v) => repo.card(m, v)));
    const done = await bootstrapPolicies(store, repo.models(), seed, trusted);
    return done.map((d) => withProblem(d, repo, seed(d.model)));
  } finally {
    await nc.close();
  }
}

/**
 * The bootstrap result with what is wrong with a policy whose champion is not in the model repository (removed
 * since it was set): the mesh still starts, its routers serve the seed version (degraded) until it is fixed.
 */
function withProblem(d: PolicyBootstrap, repo: ModelRepository, seed: string | undefined): PolicyBootstrap {
  const versions = repo.versions(d.model);
  if (d.championVersion === undefined || versions.includes(d.championVersion)) return d;
  return {
    ...d,
    problem:
      `its champion, version ${d.championVersion}, is not in the model repository (versions: ${versions.join(", ")}): ` +
      `routers serve version ${seed ?? "?"} instead (degraded) until meshctl set-champion ${d.model} <version>`,
  };
}

/** One line per model that was not simply kept, or whose policy has a problem, for the launcher's output (and the log). */
export function bootstrapLines(done: PolicyBootstrap[]): string[] {
  return done
    .filter((d) => d.action !== "kept" || d.problem)
    .map((d) =>
      d.problem
        ? `serving policy of ${d.model}: ${d.problem}`
        : d.action === "refused"
          ? `serving policy of ${d.model} refused and left as it is (${d.detail}); routers serve its seed version until meshctl set-champion`
          : d.action === "re-signed"
            ? `serving policy of ${d.model} was unsigned (written by ${d.detail || "?"} with an older scoremesh): signed as it was by the launcher (champion ${d.championVersion})`
            : `serving policy of ${d.model} ${d.action}: champion ${d.championVersion}`,
    );
}
