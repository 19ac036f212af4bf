import { Assignment, type AuditRecord } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { compareReplay, notReplayable, rebuildVector, type Mismatch } from "./rebuild.js";
import { byVersion, type Progress, type StoredRecord } from "./records.js";
import type { ReplayScorer } from "./scorer.js";

/** One record's replay. */
export interface ReplayResult {
  requestId: string;
  model: string;
  version: string;
  route: string;
  /** Stream sequence of the message that holds the record. */
  at: number;
  status: "match" | "mismatch" | "skipped" | "failed";
  mismatches?: Mismatch[];
  /** Why a record was skipped or could not be replayed. */
  reason?: string;
  /** A decision the edge made by the rules baseline (no feature or router replica answered), and why. */
  edge?: string;
}

/** Rows per ModelInfer of a replay: one call at a time. */
export const REPLAY_BATCH = 256;

const resultOf = (s: StoredRecord, status: ReplayResult["status"], more: Partial<ReplayResult> = {}): ReplayResult => ({
  requestId: s.record.requestId,
  model: s.record.model,
  version: s.record.modelVersion,
  route: Route[s.record.route] ?? String(s.record.route),
  at: s.at,
  status,
  ...(s.record.assignment === Assignment.EDGE_RULES ? { edge: s.record.degradedReason || "?" } : {}),
  ...more,
});

/**
 * Replays records: per (model, version), in batches of REPLAY_BATCH, each record's vector rebuilt from its inputs
 * with its spec, scored by its version (one worker call at a time, or the rules in process: a router's rules
 * decisions and the edge's alike), decided and explained as the router does, and compared with what was recorded.
 */
export async function replayRecords(
  items: readonly StoredRecord[],
  scorer: ReplayScorer,
  progress?: Progress,
): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for (const group of byVersion(items)) {
    for (let i = 0; i < group.length; i += REPLAY_BATCH) {
      results.push(...(await replayBatch(group.slice(i, i + REPLAY_BATCH), scorer)));
      progress?.tick(results.length);
    }
  }
  return results;
}

async function replayBatch(batch: readonly StoredRecord[], scorer: ReplayScorer): Promise<ReplayResult[]> {
  const { model, modelVersion: version } = batch[0]!.record;
  const spec = scorer.spec(model);
  const out: ReplayResult[] = [];
  const todo: { s: StoredRecord; rebuilt: ReturnType<typeof rebuildVector> }[] = [];
  for (const s of batch) {
    const why = notReplayable(s.record, spec?.hash);
    if (why) out.push(resultOf(s, "skipped", { reason: why }));
    else todo.push({ s, rebuilt: rebuildVector(spec!.spec, s.record) });
  }
  let scores: number[];
  try {
    scores = await scorer.score(
      model,
      version,
      todo.map((t) => t.rebuilt.vector),
    );
  } catch (err) {
    const reason = `${model} v${version} could not be scored: ${(err as Error).message}`;
    return [...out, ...todo.map((t) => resultOf(t.s, "failed", { reason }))];
  }
  todo.forEach(({ s, rebuilt }, k) => {
    const o = scorer.outcome(model, version, rebuilt.vector, scores[k]!, contextOf(s.record));
    const mismatches = compareReplay(spec!.spec, s.record, rebuilt, o);
    out.push(resultOf(s, mismatches.length ? "mismatch" : "match", mismatches.length ? { mismatches } : {}));
  });
  return out;
}

const contextOf = (r: AuditRecord) => ({ degraded: r.degraded, reviewBand: r.reviewBand, explain: r.explain });

/** Counts by status. */
export function tally(results: readonly ReplayResult[]): Record<ReplayResult["status"], number> {
  const t = { match: 0, mismatch: 0, skipped: 0, failed: 0 };
  for (const r of results) t[r.status]++;
  return t;
}
