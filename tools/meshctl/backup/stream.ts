import type { JetStreamClient, NatsConnection } from "nats";
import {
  AUDIT_EDGE_CHECKPOINT_PREFIX,
  AUDIT_EDGE_RECORD_PREFIX,
  AUDIT_CHECKPOINT_PREFIX,
  AUDIT_RECORD_PREFIX,
  AUDIT_STREAM,
  ensureAuditStream,
} from "../../../services/lib/audit/index.js";
import { headerPairs, toHeaders } from "./objects.js";
import {
  BackupError,
  streamFile,
  type BackupReader,
  type BackupWriter,
  type StreamLine,
  type StreamPart,
} from "./format.js";

/** Headers a restore adds to each audit message: where and when the original was stored. */
export const ORIGINAL_SEQ_HEADER = "Scoremesh-Original-Seq";
export const ORIGINAL_TIME_HEADER = "Scoremesh-Original-Time";
/** A restored message whose publish id the stream had already seen keeps it here instead (never dropped). */
export const ORIGINAL_MSG_ID_HEADER = "Scoremesh-Original-Msg-Id";

/** How many messages the audit stream holds now (0 when it does not exist). */
export async function streamMessages(nc: NatsConnection, stream = AUDIT_STREAM): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return jsm.streams.info(stream).then(
    (i) => i.state.messages,
    (err: { code?: string }) => (err.code === "404" ? 0 : Promise.reject(err as Error)),
  );
}

/**
 * Every message of the audit stream, in order, with its subject, headers (publish ids included), stored time and
 * sequence, read with an ordered consumer up to the last sequence at the start of the backup.
 */
export async function backupStream(
  nc: NatsConnection,
  out: BackupWriter,
  progress: (done: number, of: number) => void,
  stream = AUDIT_STREAM,
): Promise<StreamPart> {
  const part: StreamPart = { stream, messages: 0, bytes: 0, firstSeq: 0, lastSeq: 0 };
  const lines: StreamLine[] = [];
  const total = await streamMessages(nc, stream);
  if (total > 0) {
    const last = (await (await nc.jetstreamManager()).streams.info(stream)).state.last_seq;
    const c = await nc.jetstream().consumers.get(stream);
    for (let done = false; !done;) {
      let got = 0;
      // As many as are left, so that the last fetch ends when they came, not at its expiry.
      const max = Math.max(1, Math.min(1000, total - lines.length));
      for await (const m of await c.fetch({ max_messages: max, expires: 2000 })) {
        got++;
        const time = new Date(Math.floor(m.info.timestampNanos / 1e6)).toISOString();
        lines.push({
          seq: m.seq,
          time,
          subject: m.subject,
          headers: headerPairs(m.headers),
          data: Buffer.from(m.data).toString("base64"),
        });
        part.bytes += m.data.length;
        if (m.seq >= last) done = true;
      }
      if (got === 0) done = true;
      progress(lines.length, total);
    }
  }
  part.messages = lines.length;
  part.firstSeq = lines[0]?.seq ?? 0;
  part.lastSeq = lines.at(-1)?.seq ?? 0;
  out.lines(streamFile(stream), lines);
  return part;
}

/**
 * The identity that may publish on a subject of the audit stream: routers their records, validators the edge's,
 * the monitor the rest.
 */
export function auditPublisher(subject: string): "router" | "validator" | "monitor" {
  if (subject.startsWith(`${AUDIT_RECORD_PREFIX}.`) || subject.startsWith(`${AUDIT_CHECKPOINT_PREFIX}.`))
    return "router";
  if (subject.startsWith(`${AUDIT_EDGE_RECORD_PREFIX}.`) || subject.startsWith(`${AUDIT_EDGE_CHECKPOINT_PREFIX}.`))
    return "validator";
  return "monitor";
}

/**
 * Appends every backed-up message to the audit stream (created by control if missing) in the order it was stored,
 * with its subject, payload and headers, plus where and when it was stored first. The chains and checkpoints
 * live in the payloads, so `audit verify` reads the restored stream as it read the original.
 */
export async function restoreStream(
  conns: { control: NatsConnection; router: NatsConnection; validator: NatsConnection; monitor: NatsConnection },
  part: StreamPart,
  backup: BackupReader,
  progress: (done: number, of: number) => void,
): Promise<number> {
  await ensureAuditStream(await conns.control.jetstreamManager());
  const js = {
    router: conns.router.jetstream(),
    validator: conns.validator.jetstream(),
    monitor: conns.monitor.jetstream(),
  };
  const lines = backup.lines<StreamLine>(streamFile(part.stream));
  const window = 128;
  const ids = new Set<string>();
  // A publish id met earlier in the backup itself (a batch re-shipped after the duplicate window): kept twice.
  const again = lines.map((l) => {
    const id = l.headers.find(([k]) => k === MSG_ID)?.[1];
    if (id === undefined) return false;
    const seen = ids.has(id);
    ids.add(id);
    return seen;
  });
  // Publishes on one connection keep their order; a run ends where the publisher changes, so the restored stream
  // holds the messages in the backup's order.
  for (let i = 0; i < lines.length;) {
    const who = auditPublisher(lines[i]!.subject);
    let end = i + 1;
    while (end < lines.length && end - i < window && auditPublisher(lines[end]!.subject) === who) end++;
    await Promise.all(lines.slice(i, end).map((l, j) => republish(js[who], l, again[i + j]!)));
    i = end;
    progress(i, lines.length);
  }
  return lines.length;
}

const MSG_ID = "Nats-Msg-Id";

/**
 * Publishes one backed-up message with its headers. The stream drops a publish id it has seen within its duplicate
 * window: with --force, a message the mesh already holds is left at that; a second message of the backup with the
 * same id is published again with the id under ORIGINAL_MSG_ID_HEADER, so nothing of the backup is lost.
 */
async function republish(js: JetStreamClient, l: StreamLine, again: boolean): Promise<void> {
  const pairs: [string, string][] = [
    ...l.headers,
    [ORIGINAL_SEQ_HEADER, String(l.seq)],
    [ORIGINAL_TIME_HEADER, l.time],
  ];
  const data = Buffer.from(l.data, "base64");
  try {
    const ack = await js.publish(l.subject, data, { headers: toHeaders(pairs), timeout: 10_000 });
    if (!ack.duplicate || !again) return;
    const renamed = pairs.map(([k, v]): [string, string] => (k === MSG_ID ? [ORIGINAL_MSG_ID_HEADER, v] : [k, v]));
    await js.publish(l.subject, data, { headers: toHeaders(renamed), timeout: 10_000 });
  } catch (err) {
    throw new BackupError(`${l.subject} (stream seq ${l.seq}): ${(err as Error).message}`);
  }
}
