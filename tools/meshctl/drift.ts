import { ConnectError, createClient } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  DriftLevel,
  DriftWindow,
  GetDriftResponseSchema,
  MonitorService,
  type FeatureDrift,
  type GetDriftResponse,
  type VersionDrift,
} from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/**
 * `meshctl drift MODEL [--json]`: the monitor's online drift of each version of MODEL: PSI of the score, every
 * input and each protected attribute's segment over the last N decisions and the last T, each with its state
 * (ok, warn, alert; "-" below the minimum sample), sample and since when; and the confidence decay.
 */
export async function drift(target: MeshTarget, model: string, out: Output): Promise<void> {
  const t = createGrpcTransport({ address: target.monitor(), credentials: target.credentials() });
  let res: GetDriftResponse;
  try {
    res = await createClient(MonitorService, t).getDrift({ model }, { timeoutMs: 5000 });
  } catch (err) {
    throw new CliError(`monitor at ${t.address}: ${ConnectError.from(err).rawMessage}`);
  } finally {
    t.close();
  }
  if (out.json) return printJson(messageJson(GetDriftResponseSchema, res));
  console.log(driftText(model, res, Date.now()));
}

/** The drift of MODEL for people: one table per version, one line per feature (both windows side by side). */
export function driftText(model: string, res: GetDriftResponse, now: number): string {
  const r = res.rule!;
  const head = `${model}: PSI against each version's reference profile (warn ≥ ${r.psiWarn}, alert ≥ ${r.psiAlert}; no state under ${r.minSample} observations); windows: last ${r.windowDecisions} decisions, last ${r.windowSeconds} s`;
  if (res.versions.length === 0)
    return `${head}\n  no version of ${model} with a reference profile has been seen by the monitor`;
  return [head, ...res.versions.flatMap((v) => versionLines(v, now))].join("\n");
}

function versionLines(v: VersionDrift, now: number): string[] {
  const byFeature = new Map<string, Partial<Record<DriftWindow, FeatureDrift>>>();
  for (const f of v.features) byFeature.set(f.feature, { ...byFeature.get(f.feature), [f.window]: f });
  const pad = Math.max(...[...byFeature.keys()].map((k) => k.length), 7);
  const lines = [
    ``,
    `version ${v.modelVersion}`,
    `  ${"feature".padEnd(pad)}  last N: psi  state  sample  since   last T: psi  state  sample`,
  ];
  for (const [name, w] of byFeature)
    lines.push(
      `  ${name.padEnd(pad)}  ${cell(w[DriftWindow.DECISIONS], now)}   ${cell(w[DriftWindow.TIME], now)}`.trimEnd(),
    );
  const c = v.confidence;
  if (c) {
    const [last, time] = [DriftWindow.DECISIONS, DriftWindow.TIME].map((w) => c.windows.find((x) => x.window === w));
    const fig = (x?: { scored: bigint; reviewShare: number; meanThresholdDistance: number }) =>
      x && x.scored > 0n
        ? `${(100 * x.reviewShare).toFixed(1)} % in band, mean distance ${x.meanThresholdDistance.toFixed(3)} (${x.scored})`
        : "no scores";
    lines.push(
      `  confidence (review ${c.reviewThreshold} ≤ score < decline ${c.declineThreshold}; reference ${(100 * c.referenceReviewShare).toFixed(1)} % in band): last N ${fig(last)}; last T ${fig(time)}`,
    );
  }
  return lines;
}

const STATE: Record<DriftLevel, string> = {
  [DriftLevel.UNSPECIFIED]: "?",
  [DriftLevel.INSUFFICIENT]: "-",
  [DriftLevel.OK]: "ok",
  [DriftLevel.WARN]: "WARN",
  [DriftLevel.ALERT]: "ALERT",
};

function cell(f: FeatureDrift | undefined, now: number): string {
  if (!f) return "".padEnd(33);
  const since = f.since && f.level !== DriftLevel.INSUFFICIENT ? age(now - timestampMs(f.since)) : "";
  return `${f.psi.toFixed(3).padStart(11)}  ${STATE[f.level].padEnd(5)}  ${String(f.sample).padStart(6)}  ${since.padEnd(6)}`;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}
