import { RolloutState, type ServingPolicy } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { PolicyStore, RolloutStore, type HistoryCheck, type RolloutStatus } from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { CliError, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

const POLL_MS = 250;

/** One line of progress for people: step, share, decisions, and each check's value against its limit. */
export function progressLine(s: RolloutStatus): string {
  const hold = s.holdDecisions
    ? `${s.canaryDecisions}/${s.holdDecisions} canary decisions`
    : `${s.canaryDecisions} canary decisions`;
  const checks = s.checks
    .filter((c) => !c.segment || c.state === "breach")
    .map((c) => `${c.name}${c.segment ? ` [${c.segment}]` : ""} ${fmt(c.value)}/${fmt(c.limit)} ${c.state}`);
  return `step ${s.stepIndex + 1} at ${s.percent} %: ${hold}, ${s.championDecisions} champion; ${checks.join(", ")}`;
}

function fmt(v: number): string {
  return String(Math.round(v * 10000) / 10000);
}

function emit(out: Output, event: Record<string, unknown>, text: string): void {
  if (out.json) console.log(JSON.stringify({ at: new Date().toISOString(), ...event }));
  else console.log(text);
}

/**
 * Follows a rollout until it ends: prints each step and the controller's readings (as JSON lines with --json),
 * then the outcome; exits 1 when it was rolled back. Ctrl-C stops following only: the rollout runs on.
 */
export async function followRollout(target: MeshTarget, started: ServingPolicy, out: Output): Promise<void> {
  const model = started.model;
  const r = started.rollout!;
  emit(
    out,
    {
      event: "started",
      model,
      version: r.version,
      steps: r.steps,
      holdDecisions: r.holdDecisions,
      holdSeconds: r.holdSeconds,
    },
    `rollout of ${model} version ${r.version} started: steps ${r.steps.join(", ")} %, hold ${r.holdDecisions ? `${r.holdDecisions} canary decisions` : `${r.holdSeconds} s`} (Ctrl-C stops following; the rollout keeps running in the monitor)`,
  );
  process.once("SIGINT", () => {
    console.error(
      `meshctl: stopped following; the rollout of ${model} keeps running (meshctl policy ${model} --history)`,
    );
    process.exit(130);
  });
  const end = await withNats(target, async (nc) => {
    const policies = await PolicyStore.open(nc, { trusted: target.trustedOperators() });
    const rollouts = await RolloutStore.open(nc);
    let step = r.stepIndex;
    let last = "";
    for (;;) {
      const p = await policies.get(model);
      const now = p?.rollout;
      if (!now || now.version !== r.version || now.state !== RolloutState.RUNNING) return { p, now };
      if (now.stepIndex !== step) {
        step = now.stepIndex;
        emit(
          out,
          { event: "step", step: step + 1, percent: p.canary?.percent },
          `step ${step + 1}: canary at ${p.canary?.percent} %`,
        );
      }
      const s = await rollouts.status(model);
      if (s && s.version === r.version && s.stepIndex === step) {
        const line = progressLine(s);
        if (line !== last) emit(out, { event: "progress", ...s }, line);
        last = line;
      }
      await new Promise((res) => setTimeout(res, POLL_MS));
    }
  });
  const checks: HistoryCheck[] = (await lastChecks(target, model)) ?? [];
  if (end.now?.state === RolloutState.PROMOTED) {
    emit(
      out,
      { event: "promoted", model, version: r.version, reason: end.now.reason, checks },
      `promoted: ${end.now.reason}`,
    );
    return;
  }
  const reason =
    end.now?.state === RolloutState.ROLLED_BACK ? end.now.reason : "the rollout was ended by another policy change";
  emit(out, { event: "rolled_back", model, version: r.version, reason, checks }, `rolled back: ${reason}`);
  throw new CliError(`rollout of ${model} version ${r.version} did not complete: ${reason}`);
}

async function lastChecks(target: MeshTarget, model: string): Promise<HistoryCheck[] | undefined> {
  return withNats(target, async (nc) => (await (await RolloutStore.open(nc)).history(model)).at(-1)?.checks);
}
