import { decodePolicy } from "./policy-codec.js";
import { readSignedPolicy, type PolicyStore } from "./policy-store.js";
import { isSignedValue } from "./signed-value.js";
import type { TrustedOperators } from "./trusted-operators.js";

/** What the control side did with one model's policy at start. */
export interface PolicyBootstrap {
  model: string;
  /**
   * seeded: it had none, now has the seed version; kept: a trusted, signed policy; re-signed: an unsigned policy
   * from an older build, signed as it was; replaced: an unreadable value, replaced by the seed; refused: signed by
   * a key that is not trusted (or altered), left as it is for an operator to look at (routers ignore it).
   */
  action: "seeded" | "kept" | "re-signed" | "replaced" | "refused";
  championVersion?: string;
  /** For re-signed: who the old value said wrote it; for refused: why. */
  detail?: string;
  /** What is wrong with the policy kept (e.g. its champion is not in the model repository); routers work around it. */
  problem?: string;
}

/**
 * Gives every model a signed serving policy, on the control side (the launcher at start, `meshctl seed-policies`):
 * a model with none gets `seedVersion(model)`; an unsigned policy left by an older build is signed once as it is,
 * so upgrading an existing state folder does not lose the champion; a value nobody can read is replaced by the
 * seed. Writes are compare-and-set, so two control processes racing write once. A value signed by an untrusted key
 * is never overwritten: it is evidence, and routers already ignore it.
 */
export async function bootstrapPolicies(
  store: PolicyStore,
  models: readonly string[],
  seedVersion: (model: string) => string | undefined,
  trusted: TrustedOperators,
): Promise<PolicyBootstrap[]> {
  const out: PolicyBootstrap[] = [];
  for (const model of models) out.push(await bootstrapOne(store, model, seedVersion(model), trusted));
  return out;
}

async function bootstrapOne(
  store: PolicyStore,
  model: string,
  seed: string | undefined,
  trusted: TrustedOperators,
): Promise<PolicyBootstrap> {
  const raw = await store.raw(model);
  if (!raw) {
    if (seed && (await store.putIfAt({ model, championVersion: seed }, 0)))
      return { model, action: "seeded", championVersion: seed };
    return { model, action: "kept" };
  }
  try {
    const p = readSignedPolicy(raw.text, model, trusted);
    return { model, action: "kept", championVersion: p.championVersion };
  } catch (err) {
    if (isSignedValue(raw.text)) return { model, action: "refused", detail: (err as Error).message };
  }
  const legacy = tryDecode(raw.text);
  if (legacy && legacy.model === model) {
    await store.putIfAt({ model, championVersion: legacy.championVersion }, raw.revision);
    return { model, action: "re-signed", championVersion: legacy.championVersion, detail: legacy.updatedBy };
  }
  if (seed && (await store.putIfAt({ model, championVersion: seed }, raw.revision)))
    return { model, action: "replaced", championVersion: seed };
  return { model, action: "kept" };
}

function tryDecode(text: string) {
  try {
    return decodePolicy(text);
  } catch {
    return undefined;
  }
}
