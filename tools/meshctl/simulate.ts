import { setTimeout as sleep } from "node:timers/promises";
import { Assignment } from "../../gen/scoremesh/audit/v1/audit_pb.js";
import { decide, type ModelCard } from "../../services/lib/model/index.js";
import { recordsToReplay, withScorer } from "./audit-replay.js";
import { CliError, printJson, type Output } from "./output.js";
import { notReplayable, rebuildVector } from "./replay/rebuild.js";
import { Progress, type StoredRecord } from "./replay/records.js";
import type { ReplayScorer } from "./replay/scorer.js";
import { SimulationStats, type GroupReport } from "./replay/simulate-stats.js";
import type { MeshTarget } from "./target.js";

/** The edge's rules decisions (the mesh was down) carry no entity features: a challenger cannot score them as the mesh would. */
const EDGE_SKIP = "decided at the edge by the rules (no entity features recorded)";

/** Low priority: rows per worker call, one call at a time, and the pause after each, so live traffic comes first. */
export const SIMULATION_BATCH = 64;
export const SIMULATION_PAUSE_MS = 20;

/**
 * `meshctl simulate MODEL VERSION [--since T] [--limit N]`: the model's recorded decisions replayed through a
 * challenger version (each vector rebuilt from its recorded inputs, scored on a worker, decided with the
 * challenger's thresholds as its champion would), and what would change: rates, flips and expected defaults among
 * approvals, overall and by segment.
 */
export async function simulate(
  target: MeshTarget,
  model: string,
  version: string,
  values: { since?: string; limit?: string },
  out: Output,
): Promise<void> {
  const report = await runSimulation(target, model, version, values);
  if (out.json) return printJson(report);
  printSimulation(report);
}

/** What a simulation found (what `simulate --json` prints). */
export type SimulationReport = Awaited<ReturnType<typeof runSimulation>>;

/** Reads the model's recorded decisions (--since, --limit) and simulates them through `version`. */
export async function runSimulation(
  target: MeshTarget,
  model: string,
  version: string,
  values: { since?: string; limit?: string },
) {
  const items = await recordsToReplay(target, { ...values, model });
  const started = performance.now();
  const run = await withScorer(target, (s) => simulateRecords(items, s, model, version));
  const seconds = (performance.now() - started) / 1000;
  return {
    model,
    version,
    records: items.length,
    simulated: run.simulated,
    skipped: run.skipped,
    seconds,
    ...run.stats.report(),
  };
}

/** Scores the replayable records with the challenger in small batches, one at a time, pausing in between. */
export async function simulateRecords(
  items: readonly StoredRecord[],
  scorer: ReplayScorer,
  model: string,
  version: string,
) {
  const spec = scorer.spec(model);
  if (!spec) throw new CliError(`no model ${model} in the repository`);
  const card: ModelCard = scorer.card(model, version);
  if (card.feature_spec_hash !== spec.hash)
    throw new CliError(
      `${model} v${version} was trained with spec ${card.feature_spec_hash}, not the repository's ${spec.hash}`,
    );
  const stats = new SimulationStats();
  const skipped: Record<string, number> = {};
  const todo = items.filter(({ record }) => {
    const why = record.assignment === Assignment.EDGE_RULES ? EDGE_SKIP : notReplayable(record, spec.hash);
    if (why) skipped[why] = (skipped[why] ?? 0) + 1;
    return !why;
  });
  const progress = new Progress("simulated", todo.length);
  for (let i = 0; i < todo.length; i += SIMULATION_BATCH) {
    const batch = todo.slice(i, i + SIMULATION_BATCH);
    const scores = await scorer.score(
      model,
      version,
      batch.map((s) => rebuildVector(spec.spec, s.record).vector),
    );
    batch.forEach(({ record: r }, k) =>
      stats.add({
        segment: r.segment,
        tenant: r.tenantId,
        before: { decision: r.decision, score: r.score },
        after: { decision: decide(scores[k]!, card.thresholds), score: scores[k]! },
      }),
    );
    progress.tick(i + batch.length);
    if (i + SIMULATION_BATCH < todo.length) await sleep(SIMULATION_PAUSE_MS);
  }
  return { stats, simulated: todo.length, skipped };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function line(label: string, g: GroupReport): string {
  const r = (x: GroupReport["before"]) => `${pct(x.approve)}/${pct(x.review)}/${pct(x.decline)}`;
  return (
    `  ${label.padEnd(22)} ${String(g.rows).padStart(7)}  ${r(g.before).padEnd(20)} ${r(g.after).padEnd(20)} ` +
    `${String(g.flipped).padStart(6)}  ${g.expectedDefaults.before.toFixed(1)} → ${g.expectedDefaults.after.toFixed(1)}`
  );
}

/** The simulation's summary for people: rates before and after, flips and expected defaults, overall and by segment. */
export function printSimulation(r: SimulationReport): void {
  console.log(
    `simulation of ${r.model} v${r.version} on ${r.simulated} recorded decisions (${r.seconds.toFixed(1)} s)`,
  );
  for (const [why, n] of Object.entries(r.skipped)) console.log(`  skipped ${n}: ${why}`);
  console.log(
    `  ${"group".padEnd(22)} ${"rows".padStart(7)}  ${"before A/R/D".padEnd(20)} ${"after A/R/D".padEnd(20)} ${"flips".padStart(6)}  expected defaults among approvals`,
  );
  console.log(line("overall", r.overall));
  const flips = Object.entries(r.overall.flips)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  if (flips) console.log(`  flips: ${flips}`);
  for (const [dim, groups] of Object.entries(r.segments))
    for (const [label, g] of Object.entries(groups)) console.log(line(`${dim}=${label}`, g));
}
