import { RolloutStore, type PolicyChange } from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/** "2026-…Z  rollout-controller  canary 4 rolled back: breach at step 1: approve_rate -0.5 (limit 0.1)" */
export function historyLine(c: PolicyChange): string {
  const breached = (c.checks ?? []).filter((k) => k.state === "breach");
  const checks = breached.map(
    (k) => `${k.name}${k.segment ? ` [${k.segment}]` : ""} ${k.value.toFixed(4)} > ${k.limit}`,
  );
  return `${c.at}  ${c.by}  ${c.what}: ${c.why}${checks.length ? ` (${checks.join("; ")})` : ""}`;
}

/** `meshctl policy MODEL --history`: every change of the model's policy, oldest first (--json: a list). */
export async function policyHistory(target: MeshTarget, model: string, out: Output): Promise<void> {
  const changes = await withNats(target, async (nc) => (await RolloutStore.open(nc)).history(model));
  if (out.json) printJson(changes);
  else if (changes.length === 0) console.log(`${model}: no policy changes recorded`);
  else console.log([`${model}: ${changes.length} change(s), oldest first`, ...changes.map(historyLine)].join("\n"));
}
