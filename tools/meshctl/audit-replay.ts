import { createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { parseSince, readTrail } from "./audit-read.js";
import { withNats } from "./nats.js";
import { CliError, printJson, type Output } from "./output.js";
import { auditRecordsOf, parseLimit, Progress, type StoredRecord } from "./replay/records.js";
import { replayRecords, tally, type ReplayResult } from "./replay/replay-run.js";
import { ReplayScorer } from "./replay/scorer.js";
import type { MeshTarget } from "./target.js";

export const REPLAY_USAGE = "usage: meshctl audit replay <request-id> | meshctl audit replay --since T [--limit N]";

/** Reads the records to replay or simulate: one request's, or those since T (at most N). */
export async function recordsToReplay(
  target: MeshTarget,
  sel: { requestId?: string; since?: string; limit?: string; model?: string },
): Promise<StoredRecord[]> {
  const since = parseSince(sel.since);
  const limit = parseLimit(sel.limit);
  const { entries } = await withNats(target, (nc) => readTrail(nc, since));
  return auditRecordsOf(entries, { requestId: sel.requestId, model: sel.model, limit });
}

/** Runs `fn` with a scorer on the mesh's model worker (mutual TLS, as every meshctl call). */
export async function withScorer<T>(target: MeshTarget, fn: (s: ReplayScorer) => Promise<T>): Promise<T> {
  const transport = createGrpcTransport({ address: target.worker(), credentials: target.credentials() });
  try {
    return await fn(
      new ReplayScorer(new ModelRepository(target.repository()), createClient(GRPCInferenceService, transport)),
    );
  } finally {
    transport.close();
  }
}

/** `meshctl audit replay REQUEST_ID | --since T [--limit N]`: exits 1 when any record does not replay exactly. */
export async function auditReplay(
  target: MeshTarget,
  args: string[],
  values: { since?: string; limit?: string },
  out: Output,
): Promise<void> {
  if (args.length > 1 || (args.length === 0 && values.since === undefined && values.limit === undefined))
    throw new CliError(REPLAY_USAGE, 2);
  const requestId = args[0];
  const items = await recordsToReplay(target, { requestId, ...values });
  if (requestId !== undefined && items.length === 0)
    throw new CliError(`no audit record of request ${JSON.stringify(requestId)}`);
  const started = performance.now();
  const results = await withScorer(target, (s) => replayRecords(items, s, new Progress("replayed", items.length)));
  const seconds = (performance.now() - started) / 1000;
  const t = tally(results);
  const perSecond = Math.round(results.length / Math.max(seconds, 1e-3));
  if (out.json)
    printJson({
      ok: t.mismatch + t.failed === 0,
      records: results.length,
      ...t,
      seconds,
      perSecond,
      problems: results.filter((r) => r.status !== "match"),
    });
  else printReplay(results, t, seconds, perSecond);
  if (t.mismatch + t.failed > 0) process.exitCode = 1;
}

function printReplay(results: ReplayResult[], t: ReturnType<typeof tally>, seconds: number, perSecond: number): void {
  console.log(
    `replayed ${results.length} records in ${seconds.toFixed(1)} s (${perSecond}/s): ${t.match} exact, ` +
      `${t.mismatch} mismatched, ${t.skipped} skipped, ${t.failed} failed`,
  );
  const edge = results.filter((r) => r.edge !== undefined).length;
  if (edge > 0)
    console.log(
      `  ${edge} of them decided at the edge by the rules baseline (no feature or router replica answered): ` +
        "recomputed with the rules scorecard",
    );
  for (const r of results) {
    const by = r.edge === undefined ? r.route : `${r.route} at the edge, ${r.edge}`;
    const where = `request ${r.requestId} (${r.model} v${r.version} ${by}, stream seq ${r.at})`;
    if (r.status === "mismatch")
      for (const m of r.mismatches!)
        console.log(`  MISMATCH ${where}: ${m.field} recorded ${m.recorded}, replayed ${m.replayed}`);
    else if (r.status !== "match") console.log(`  ${r.status.toUpperCase()} ${where}: ${r.reason}`);
  }
  console.log(t.mismatch + t.failed === 0 ? "every replayed record matches bit for bit" : "REPLAY MISMATCH");
}
