import type { KeyObject } from "node:crypto";
import type { NatsConnection } from "nats";
import { AUDIT_STREAM, checkpointSubject, recordSubject, RetentionPlanner } from "../../services/lib/audit/index.js";
import { forEachStored } from "./audit-stream.js";
import { withNats } from "./nats.js";
import { CliError, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/** The variable that sets how long `meshctl audit retain` keeps the trail (e.g. 400d), when --keep is not given. */
export const AUDIT_RETENTION = "SCOREMESH_AUDIT_RETENTION";

export const RETAIN_USAGE = "usage: meshctl audit retain [--keep 400d] [--dry-run]";

/** A retention period: "90s", "15m", "2h", "400d", in ms; throws naming `name` when malformed or zero. */
export function parseRetention(raw: string, name: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(raw.trim());
  const ms = m ? Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s"] : NaN;
  if (!(ms > 0)) throw new CliError(`${name} must be a duration like 400d, 12h or 30m, got ${JSON.stringify(raw)}`, 2);
  return ms;
}

/** What a retention run found and did. */
export interface RetainResult {
  cutoff: string;
  firstSeqBefore: number;
  /** The first stream sequence kept: everything below it was purged (or would be, with --dry-run). */
  keepFrom: number;
  purged: number;
  dryRun: boolean;
}

/**
 * Plans and makes the cut: reads the messages stored before `cutoffMs` into the planner, asks the stream where
 * each writer's messages end, and purges below the first sequence every kept chain can be verified from.
 */
export async function retainTrail(
  nc: NatsConnection,
  key: KeyObject,
  cutoffMs: number,
  dryRun: boolean,
): Promise<RetainResult> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(AUDIT_STREAM);
  const planner = new RetentionPlanner(key);
  let limit = info.state.last_seq + 1;
  await forEachStored(nc, {}, (seq, data, storedMs) => {
    if (storedMs > cutoffMs) {
      limit = seq;
      return false;
    }
    planner.observe(seq, data);
  });
  const later = new Map<string, number>();
  for (const [writer, models] of planner.writerModels()) {
    const subjects = [checkpointSubject(writer), ...models.map((m) => recordSubject(m, writer))];
    const seqs = await Promise.all(subjects.map((s) => lastSeqOf(nc, s)));
    later.set(writer, Math.max(0, ...seqs));
  }
  const keepFrom = Math.max(
    planner.cutBefore(limit, (w) => later.get(w)),
    info.state.first_seq,
  );
  const result = { cutoff: new Date(cutoffMs).toISOString(), firstSeqBefore: info.state.first_seq, keepFrom, dryRun };
  if (keepFrom <= info.state.first_seq || dryRun)
    return { ...result, purged: dryRun ? Math.max(0, keepFrom - info.state.first_seq) : 0 };
  const r = await jsm.streams.purge(AUDIT_STREAM, { seq: keepFrom });
  return { ...result, purged: r.purged };
}

async function lastSeqOf(nc: NatsConnection, subject: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return jsm.streams.getMessage(AUDIT_STREAM, { last_by_subj: subject }).then(
    (m) => m.seq,
    () => 0,
  );
}

/** `meshctl audit retain [--keep D] [--dry-run]`: run it periodically (cron, a Kubernetes CronJob). */
export async function auditRetain(
  target: MeshTarget,
  key: KeyObject,
  values: { keep?: string; "dry-run"?: boolean },
  out: Output,
): Promise<void> {
  const raw = values.keep ?? process.env[AUDIT_RETENTION];
  if (raw === undefined) throw new CliError(`set --keep or ${AUDIT_RETENTION} (e.g. 400d)\n${RETAIN_USAGE}`, 2);
  const keepMs = parseRetention(raw, values.keep !== undefined ? "--keep" : AUDIT_RETENTION);
  const r = await withNats(target, (nc) => retainTrail(nc, key, Date.now() - keepMs, values["dry-run"] === true));
  if (out.json) return printJson(r);
  console.log(
    r.keepFrom <= r.firstSeqBefore
      ? `audit retention ${raw}: nothing to cut (the oldest message, stream seq ${r.firstSeqBefore}, must stay)`
      : `audit retention ${raw}: ${r.dryRun ? "would cut" : "cut"} ${r.purged} messages stored before ` +
          `${r.cutoff} (stream seq ${r.firstSeqBefore}..${r.keepFrom - 1}); the trail starts at stream seq ` +
          `${r.keepFrom}, at a checkpoint every kept chain is verified from`,
  );
}
