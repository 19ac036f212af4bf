import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import {
  CanarySchema,
  RolloutSchema,
  RolloutState,
  RolloutThresholdsSchema,
} from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { keptFields } from "../../services/lib/nats/index.js";
import { DEFAULT_ROLLOUT_STEPS } from "../../services/monitor/rollout/step.js";
import { changePolicy, current } from "./rollout.js";
import { checkServable } from "./version-check.js";
import { CliError, type Output } from "./output.js";
import { followRollout } from "./rollout-follow.js";
import { printSimulation, runSimulation } from "./simulate.js";
import type { MeshTarget } from "./target.js";

/** What `meshctl rollout` was asked for. */
export interface RolloutArgs {
  steps?: string;
  hold?: string;
  holdDecisions?: string;
  minSample?: string;
  /** Run the portfolio simulation of VERSION on the recorded decisions (--since, --limit) and print it first. */
  simulate?: boolean;
  since?: string;
  limit?: string;
}

/** "5,25,50,100" → [5, 25, 50, 100], increasing, each in (0, 100]; else a usage error naming --steps. */
export function parseSteps(text: string | undefined): number[] {
  if (text === undefined) return [...DEFAULT_ROLLOUT_STEPS];
  const steps = text.split(",").map((s) => Number(s.trim()));
  const ok = steps.every((s, i) => Number.isFinite(s) && s > 0 && s <= 100 && (i === 0 || s > steps[i - 1]!));
  if (!ok || steps.length === 0)
    throw new CliError(`--steps must be increasing percents in (0, 100], e.g. 5,25,50,100; got ${text}`, 2);
  return steps;
}

/** "60s", "2m", "90" (seconds) → seconds; else a usage error naming --hold. */
export function parseHold(text: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? "s") as "s" | "m" | "h"] : NaN;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400)
    throw new CliError(`--hold must be a duration of 1s to 24h (e.g. 60s, 5m), got ${JSON.stringify(text)}`, 2);
  return seconds;
}

function positiveInt(name: string, text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000_000)
    throw new CliError(`${name} must be an integer in [1, 10000000], got ${JSON.stringify(text)}`, 2);
  return n;
}

/**
 * `meshctl rollout MODEL VERSION [--steps 5,25,50,100] [--hold 60s | --hold-decisions N] [--min-sample N]
 * [--simulate [--since T] [--limit N]]`: with --simulate, first prints the portfolio simulation of VERSION on the
 * recorded decisions (what `meshctl simulate` prints; one `"event":"simulation"` line with --json); then writes the
 * canary at the first step with the rollout (compare-and-set), and follows the monitor's controller until it
 * promotes or rolls back. Refused unless a worker has VERSION ready, as `canary` is.
 */
export async function rollout(target: MeshTarget, model: string, version: string, a: RolloutArgs, out: Output) {
  const steps = parseSteps(a.steps);
  if (a.hold !== undefined && a.holdDecisions !== undefined)
    throw new CliError("give --hold or --hold-decisions, not both", 2);
  const holdDecisions = positiveInt("--hold-decisions", a.holdDecisions);
  const holdSeconds = a.hold !== undefined ? parseHold(a.hold) : holdDecisions ? 0 : 60;
  const minSample = positiveInt("--min-sample", a.minSample);
  if (!a.simulate && (a.since !== undefined || a.limit !== undefined))
    throw new CliError("--since and --limit go with --simulate", 2);
  if (a.simulate) await showSimulation(target, model, version, a, out);
  const startedBy = target.trustedOperators().get(target.operatorSigner().publicKey) ?? "";
  const p = await changePolicy(
    target,
    model,
    (at) => ({
      ...keptFields(current(model, at)),
      canary: create(CanarySchema, { version, percent: steps[0]! }),
      rollout: create(RolloutSchema, {
        version,
        steps,
        holdDecisions,
        holdSeconds,
        thresholds: create(RolloutThresholdsSchema, { minSample }),
        state: RolloutState.RUNNING,
        stepStartedAt: timestampNow(),
        startedBy,
      }),
    }),
    async (nc, at) => {
      const now = current(model, at);
      if (now.championVersion === version) throw new CliError(`version ${version} is already the champion of ${model}`);
      if (now.rollout?.state === RolloutState.RUNNING)
        throw new CliError(
          `a rollout of ${model} version ${now.rollout.version} is running (meshctl rollback ${model} ends it)`,
        );
      await checkServable(target, nc, model, version);
    },
  );
  await followRollout(target, p, out);
}

/** The simulation before the rollout: its summary for people, or one JSON line (the rollout's events follow). */
async function showSimulation(target: MeshTarget, model: string, version: string, a: RolloutArgs, out: Output) {
  const report = await runSimulation(target, model, version, { since: a.since, limit: a.limit });
  if (out.json) console.log(JSON.stringify({ at: new Date().toISOString(), event: "simulation", ...report }));
  else {
    printSimulation(report);
    console.log("");
  }
}
