import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { ShadowSchema, ServingPolicySchema } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { PolicyStore } from "../../services/lib/nats/index.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { withNats } from "./nats.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import { changePolicy, current } from "./rollout.js";
import { checkServable } from "./version-check.js";
import type { MeshTarget } from "./target.js";

/** `meshctl shadow MODEL VERSION --sample R`: VERSION also scores a sticky share R of the champion's rows. */
export async function setShadow(target: MeshTarget, model: string, version: string, sampleText: string, out: Output) {
  const sampleRate = Number(sampleText);
  if (!Number.isFinite(sampleRate) || sampleRate <= 0 || sampleRate > 1)
    throw new CliError(`--sample must be a number in (0, 1], got ${JSON.stringify(sampleText)}`, 2);
  const p = await changePolicy(
    target,
    model,
    (at) => ({ ...fieldsOf(current(model, at)), shadow: create(ShadowSchema, { version, sampleRate }) }),
    async (nc, at) => {
      if (current(model, at).championVersion === version)
        throw new CliError(`version ${version} is the champion of ${model}: a shadow compares another version`);
      await checkServable(target, nc, model, version);
    },
  );
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else
    console.log(
      `shadow of ${model} is version ${version} on ${sampleRate * 100} % of the champion's rows, scored off the hot path (signed by ${p.updatedBy}).`,
    );
}

/** `meshctl shadow MODEL --off`: no shadow; routers stop sending pairs as soon as the watch delivers it. */
export async function shadowOff(target: MeshTarget, model: string, out: Output) {
  const p = await changePolicy(target, model, (at) => {
    const p = current(model, at);
    if (!p.shadow) throw new CliError(`${model} has no shadow (meshctl shadow ${model} VERSION --sample R sets one)`);
    return { ...fieldsOf(p), shadow: undefined };
  });
  if (out.json) printJson(messageJson(ServingPolicySchema, p));
  else console.log(`shadow of ${model} removed (signed by ${p.updatedBy}).`);
}

/** `meshctl shadow MODEL`: the policy's shadow and the monitor's pairs of the model (best effort). */
export async function shadowStatus(target: MeshTarget, model: string, out: Output) {
  const p = await withNats(target, async (nc) =>
    (await PolicyStore.open(nc, { trusted: target.trustedOperators() })).get(model),
  );
  if (!p) throw new CliError(`no serving policy for ${model} (npm start or meshctl seed-policies writes one)`);
  const { pairs, monitorError } = await monitorPairs(target, model);
  if (out.json) {
    const shadow = p.shadow ? messageJson(ShadowSchema, p.shadow) : null;
    return printJson({ model, championVersion: p.championVersion, shadow, pairs, monitorError });
  }
  const head = p.shadow
    ? `${model}: shadow ${p.shadow.version} on ${p.shadow.sampleRate * 100} % of champion ${p.championVersion}'s rows`
    : `${model}: no shadow (champion ${p.championVersion})`;
  console.log(
    [head, ...pairs.map(pairLine), ...(monitorError ? [`  monitor unreachable: ${monitorError}`] : [])].join("\n"),
  );
}

/** "  champion 3 vs shadow 4: 812 pairs, mean |score diff| 0.0123, decisions agree 97.4 %" */
export function pairLine(s: ShadowPairView) {
  return `  champion ${s.championVersion} vs shadow ${s.shadowVersion}: ${s.pairs} pairs, mean |score diff| ${s.meanAbsScoreDiff.toFixed(4)}, decisions agree ${(s.agreementRate * 100).toFixed(1)} %`;
}

/** One (champion, shadow) aggregate of the monitor, as meshctl shows it. */
export interface ShadowPairView {
  championVersion: string;
  shadowVersion: string;
  pairs: number;
  meanAbsScoreDiff: number;
  agreementRate: number;
}

/** The monitor's champion/shadow aggregates of `model`; an unreachable monitor is reported, not thrown. */
export async function monitorPairs(
  target: MeshTarget,
  model: string,
): Promise<{ pairs: ShadowPairView[]; monitorError?: string }> {
  const t = createGrpcTransport({ address: target.monitor(), credentials: target.credentials() });
  try {
    const stats = await createClient(MonitorService, t).getStats({}, { timeoutMs: 2000 });
    const pairs = stats.shadows
      .filter((s) => s.model === model)
      .map((s) => ({
        championVersion: s.championVersion,
        shadowVersion: s.shadowVersion,
        pairs: Number(s.pairs),
        meanAbsScoreDiff: s.meanAbsScoreDiff,
        agreementRate: s.agreementRate,
      }));
    return { pairs };
  } catch (err) {
    return { pairs: [], monitorError: (err as Error).message };
  } finally {
    t.close();
  }
}

/** The writable fields of a policy: what a change keeps. */
function fieldsOf(p: ReturnType<typeof current>) {
  return {
    model: p.model,
    championVersion: p.championVersion,
    canary: p.canary,
    shadow: p.shadow,
    segments: p.segments,
  };
}
