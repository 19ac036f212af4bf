import type { NatsConnection } from "nats";
import { CanarySchema, ServingPolicySchema, type ServingPolicy } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { create } from "@bufbuild/protobuf";
import {
  keptFields,
  PolicyConflictError,
  PolicyStore,
  RolloutStore,
  type PolicyAt,
  type PolicyFields,
} from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import { checkServable } from "./version-check.js";
import type { MeshTarget } from "./target.js";

/** What a change makes of the current policy, or a CliError saying why it cannot be made. */
type Change = (at: PolicyAt) => PolicyFields;

/**
 * Reads the model's policy, applies `change` and writes it back signed, compare-and-set on the revision read: a
 * concurrent writer makes this fail with a clear conflict error (exit 1) instead of being overwritten. `check`
 * runs first (e.g. the version must be ready on a worker).
 */
export async function changePolicy(
  target: MeshTarget,
  model: string,
  change: Change,
  check?: (nc: NatsConnection, at: PolicyAt) => Promise<void>,
): Promise<ServingPolicy> {
  const trust = { trusted: target.trustedOperators(), signer: target.operatorSigner() };
  return withNats(target, async (nc) => {
    const store = await PolicyStore.open(nc, trust);
    const at = await store.read(model);
    await check?.(nc, at);
    let written: ServingPolicy;
    try {
      written = await store.putAt(change(at), at.revision);
    } catch (err) {
      if (err instanceof PolicyConflictError) throw new CliError(`conflict: ${err.message}`);
      throw err;
    }
    await recordChange(nc, written);
    return written;
  });
}

/** Adds a hand-made change to the policy history; a history that cannot be written is a warning (it is done). */
async function recordChange(nc: NatsConnection, p: ServingPolicy): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== "--json");
  const what = `champion ${p.championVersion}${p.canary ? `, canary ${p.canary.version} at ${p.canary.percent} %` : ", no canary"}`;
  try {
    const store = await RolloutStore.open(nc);
    await store.record({
      at: new Date().toISOString(),
      model: p.model,
      by: p.updatedBy,
      what,
      why: `meshctl ${args.join(" ")}`,
    });
  } catch (err) {
    console.error(`meshctl: warning: the change is made but not in the policy history: ${(err as Error).message}`);
  }
}

/** The current policy, or a CliError when the model has none or its value is refused. */
export function current(model: string, at: PolicyAt): ServingPolicy {
  if (at.policy) return at.policy;
  if (at.refused) throw new CliError(`the serving policy of ${model} is refused (${at.refused}): set a champion first`);
  throw new CliError(`no serving policy for ${model} (npm start or meshctl seed-policies writes one)`);
}

/** `meshctl canary MODEL VERSION --percent P` */
export async function canary(target: MeshTarget, model: string, version: string, percentText: string, out: Output) {
  const percent = Number(percentText);
  if (!Number.isFinite(percent) || percent <= 0 || percent > 100)
    throw new CliError(`--percent must be a number in (0, 100], got ${JSON.stringify(percentText)}`, 2);
  const p = await changePolicy(
    target,
    model,
    (at) => ({ ...handMade(current(model, at)), canary: create(CanarySchema, { version, percent }) }),
    async (nc, at) => {
      if (current(model, at).championVersion === version)
        throw new CliError(`version ${version} is already the champion of ${model}`);
      await checkServable(target, nc, model, version);
    },
  );
  report(p, out, `canary of ${model} is version ${version} at ${percent} % (sticky by entity id)`);
}

/** `meshctl promote MODEL`: the canary becomes the champion and serves all traffic. */
export async function promote(target: MeshTarget, model: string, out: Output) {
  const p = await changePolicy(
    target,
    model,
    (at) => ({
      ...handMade(current(model, at)),
      championVersion: canaryOf(model, at).version,
      canary: undefined,
      shadow: shadowBeside(at, canaryOf(model, at).version),
      cascade: cascadeBeside(at, canaryOf(model, at).version),
    }),
    (nc, at) => checkServable(target, nc, model, canaryOf(model, at).version),
  );
  report(p, out, `version ${p.championVersion} of ${model} promoted: it is the champion and serves all traffic`);
}

/** `meshctl rollback MODEL`: the canary removed; every router sends all traffic to the champion at once. */
export async function rollback(target: MeshTarget, model: string, out: Output) {
  const p = await changePolicy(target, model, (at) => {
    canaryOf(model, at);
    return { ...handMade(current(model, at)), canary: undefined };
  });
  report(p, out, `canary of ${model} rolled back: champion ${p.championVersion} serves all traffic`);
}

/** The policy's shadow, kept next to a champion `champion`; dropped when it is that version. */
export function shadowBeside(at: PolicyAt, champion: string) {
  const s = at.policy?.shadow;
  return s && s.version !== champion ? s : undefined;
}

/**
 * The fields a hand-made change of the canary or the champion starts from: every part kept, but a running
 * automated rollout ends (its canary is being changed under it); a finished one's record goes with it.
 */
export function handMade(p: ServingPolicy): PolicyFields {
  return { ...keptFields(p), rollout: undefined };
}

/** The policy's light → heavy cascade, kept next to a champion `champion`; dropped when its light version is that. */
export function cascadeBeside(at: PolicyAt, champion: string) {
  const c = at.policy?.cascade;
  return c && c.lightVersion !== champion ? c : undefined;
}

function canaryOf(model: string, at: PolicyAt) {
  const c = current(model, at).canary;
  if (!c) throw new CliError(`${model} has no canary (meshctl canary ${model} VERSION --percent P sets one)`);
  return c;
}

function report(p: ServingPolicy, out: Output, line: string) {
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else console.log(`${line} (signed by ${p.updatedBy}).`);
}
