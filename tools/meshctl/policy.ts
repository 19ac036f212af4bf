import { connect } from "nats";
import { ServingPolicySchema, type ServingPolicy } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { PolicyStore } from "../../services/lib/nats/index.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/** Runs `fn` with the serving policies in NATS KV; fails with a clear message when NATS cannot be reached. */
export async function withPolicies<T>(servers: string[], fn: (p: PolicyStore) => Promise<T>): Promise<T> {
  const nc = await connect({ servers, timeout: 3000, name: "meshctl" }).catch((err: Error) => {
    throw new CliError(`cannot reach NATS at ${servers.join(",")}: ${err.message}`);
  });
  try {
    return await fn(await PolicyStore.open(nc));
  } finally {
    await nc.close();
  }
}

/** "champion 2, set 2026-01-01T00:00:00.000Z by meshctl@ana" */
export function policyLine(p: ServingPolicy): string {
  const at = p.updatedAt ? new Date(Number(p.updatedAt.seconds) * 1000).toISOString() : "?";
  return `champion ${p.championVersion}, set ${at} by ${p.updatedBy || "?"}`;
}

/** `meshctl policy <model>` */
export async function policy(target: MeshTarget, model: string, out: Output): Promise<void> {
  const p = await withPolicies(target.nats(), (s) => s.get(model));
  if (!p) throw new CliError(`no serving policy for ${model} (a router writes one when it first starts)`);
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else console.log(`${model}: ${policyLine(p)}`);
}

/** `meshctl set-champion <model> <version>` */
export async function setChampion(target: MeshTarget, model: string, version: string, out: Output): Promise<void> {
  const repo = new ModelRepository(target.repository());
  if (!repo.models().includes(model))
    throw new CliError(`unknown model ${model} (repository ${target.repository()} has: ${repo.models().join(", ")})`);
  const versions = repo.versions(model);
  if (!versions.includes(version))
    throw new CliError(`${model} has no version ${version} (versions: ${versions.join(", ")})`);
  const p = await withPolicies(target.nats(), async (store) => {
    const current = await store.get(model);
    return store.put({
      ...(current ?? { model }),
      model,
      championVersion: version,
      updatedBy: `meshctl@${process.env["USER"] ?? "unknown"}`,
    });
  });
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else
    console.log(
      `champion of ${model} is now version ${version}; routers switch as soon as the workers report it ready.`,
    );
}
