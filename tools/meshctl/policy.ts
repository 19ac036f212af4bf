import { RolloutState, ServingPolicySchema, type ServingPolicy } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { ModelRepository, seedChampion } from "../../services/lib/model/index.js";
import { bootstrapPolicies, PolicyStore } from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { cascadeBeside, changePolicy, handMade, shadowBeside } from "./rollout.js";
import { segmentLine } from "./segment.js";
import { monitorPairs, pairLine } from "./shadow.js";
import { checkServable, servingProblem } from "./version-check.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/**
 * Runs `fn` with the serving policies in NATS KV, connected as the control identity; `sign` adds the operator's
 * signing key (for commands that write). Fails with a clear message when NATS cannot be reached or refuses.
 */
export function withPolicies<T>(
  target: MeshTarget,
  fn: (p: PolicyStore) => Promise<T>,
  opts: { sign?: boolean } = {},
): Promise<T> {
  const trust = { trusted: target.trustedOperators(), ...(opts.sign ? { signer: target.operatorSigner() } : {}) };
  return withNats(target, async (nc) => fn(await PolicyStore.open(nc, trust)));
}

/** "champion 2, canary 4 at 20 %, set 2026-01-01T00:00:00.000Z by ana" (by: the verified signer) */
export function policyLine(p: ServingPolicy): string {
  const at = p.updatedAt ? new Date(Number(p.updatedAt.seconds) * 1000).toISOString() : "?";
  const canary = p.canary ? `, canary ${p.canary.version} at ${p.canary.percent} %` : "";
  const shadow = p.shadow ? `, shadow ${p.shadow.version} on ${p.shadow.sampleRate * 100} % of rows` : "";
  const c = p.cascade;
  const cascade = c ? `, light ${c.lightVersion} first (scores in [${c.bandLow}, ${c.bandHigh}) go on)` : "";
  const r = p.rollout;
  const state = r ? (["", "running", "promoted", "rolled back"][r.state] ?? "") : "";
  const rollout = r
    ? `, rollout of ${r.version} ${state}${r.state === RolloutState.RUNNING ? ` at step ${r.stepIndex + 1}/${r.steps.length}` : ""}`
    : "";
  return `champion ${p.championVersion}${canary}${shadow}${cascade}${rollout}, set ${at} by ${p.updatedBy || "?"}`;
}

/**
 * `meshctl policy <model>`: the policy, its shadow's pairs at the monitor, and what is wrong with it (a champion,
 * canary or shadow no model worker has ready:
 * routers then keep the version they served, or a degraded stand-in). `--json`: the policy's protobuf JSON with
 * `problems` (a list, empty when none) and `shadowPairs` (the monitor's aggregates; empty without a shadow).
 */
export async function policy(target: MeshTarget, model: string, out: Output): Promise<void> {
  const { p, problems } = await withNats(target, async (nc) => {
    const p = await (await PolicyStore.open(nc, { trusted: target.trustedOperators() })).get(model);
    if (!p) throw new CliError(`no serving policy for ${model} (npm start or meshctl seed-policies writes one)`);
    const versions = [
      p.championVersion,
      ...(p.canary ? [p.canary.version] : []),
      ...(p.shadow ? [p.shadow.version] : []),
      ...(p.cascade ? [p.cascade.lightVersion] : []),
      ...new Set(p.segments.map((s) => s.version)),
    ];
    // Best effort: the policy is what was asked for; a worker bucket that cannot be read is a problem to show.
    const found = await Promise.all(
      versions.map((v) => servingProblem(target, nc, model, v).catch((err: Error) => err.message)),
    );
    return { p, problems: found.filter((x) => x !== undefined).map((x) => x.replace(/^refused: /, "")) };
  });
  const shadowPairs = p.shadow ? (await monitorPairs(target, model)).pairs : [];
  if (out.json) printJson({ ...(messageJson(ServingPolicySchema, p) as object), problems, shadowPairs });
  else
    console.log(
      [
        `${model}: ${policyLine(p)}`,
        ...p.segments.map(segmentLine),
        ...p.pools.map((r) => `  pool: version ${r.version} → workers labelled ${r.label}`),
        ...shadowPairs.map(pairLine),
        ...problems.map((x) => `  problem: ${x}`),
      ].join("\n"),
    );
}

/**
 * `meshctl set-champion <model> <version>`: a policy signed with the operator's key, written compare-and-set.
 * Refused when no worker has the version ready. A canary or shadow stays, unless it is the new champion.
 */
export async function setChampion(target: MeshTarget, model: string, version: string, out: Output): Promise<void> {
  const p = await changePolicy(
    target,
    model,
    (at) => ({
      ...(at.policy ? handMade(at.policy) : {}),
      model,
      championVersion: version,
      canary: at.policy?.canary && at.policy.canary.version !== version ? at.policy.canary : undefined,
      shadow: shadowBeside(at, version),
      cascade: cascadeBeside(at, version),
    }),
    (nc) => checkServable(target, nc, model, version),
  );
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else
    console.log(
      `champion of ${model} is now version ${version} (signed by ${p.updatedBy}); routers switch as soon as the workers report it ready.`,
    );
}

/** `meshctl seed-policies`: what npm start does at start, for a mesh started otherwise (see bootstrapPolicies). */
export async function seedPolicies(target: MeshTarget, out: Output): Promise<void> {
  const repo = new ModelRepository(target.repository());
  const trusted = target.trustedOperators();
  const done = await withPolicies(
    target,
    (store) =>
      bootstrapPolicies(
        store,
        repo.models(),
        (m) => seedChampion(repo.versions(m).map((v) => repo.card(m, v))),
        trusted,
      ),
    { sign: true },
  );
  if (out.json) printJson(done);
  else
    for (const d of done)
      console.log(
        `${d.model}: ${d.action}${d.championVersion ? ` (champion ${d.championVersion})` : ""}${d.detail ? `: ${d.detail}` : ""}`,
      );
}
