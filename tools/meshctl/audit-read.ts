import { DeliverPolicy, type NatsConnection } from "nats";
import { AUDIT_STREAM, decodeFrames, type Problem, type TrailEntry } from "../../services/lib/audit/index.js";
import { CliError } from "./output.js";

/** What the audit stream holds: its entries, and the messages whose frames could not all be read. */
export interface Trail {
  entries: TrailEntry[];
  damaged: Problem[];
  /** The stream's first sequence: above 1 once a retention cut (or anything else) removed its oldest messages. */
  firstSeq?: number;
}

/**
 * Every entry of the audit stream (records and checkpoints, in stream order; a message holds a batch of frames of
 * one subject), or those stored since `since`, read with an ordered consumer up to the stream's last sequence at
 * the time of the call.
 */
export async function readTrail(nc: NatsConnection, since?: Date): Promise<Trail> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(AUDIT_STREAM).catch((err: Error) => {
    throw new CliError(`cannot read the audit stream ${AUDIT_STREAM}: ${err.message}`);
  });
  const last = info.state.last_seq;
  const trail: Trail = { entries: [], damaged: [], firstSeq: info.state.first_seq };
  if (info.state.messages === 0) return trail;
  const c = await nc
    .jetstream()
    .consumers.get(
      AUDIT_STREAM,
      since ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() } : {},
    );
  for (;;) {
    let got = 0;
    let done = false;
    for await (const m of await c.fetch({ max_messages: 1000, expires: 2000 })) {
      got++;
      addMessage(trail, m.seq, m.data);
      if (m.seq >= last) done = true;
    }
    if (done || got === 0) return trail;
  }
}

function addMessage(trail: Trail, seq: number, data: Uint8Array): void {
  const { frames, damaged } = decodeFrames(data);
  frames.forEach((f, frame) => trail.entries.push({ at: seq, frame, kind: f.kind, bytes: f.payload }));
  if (damaged)
    trail.damaged.push({
      kind: "unreadable",
      at: seq,
      frame: frames.length,
      detail: `stored batch damaged: ${damaged}`,
    });
}

/** `--since T`: an ISO 8601 time, or a duration back from now ("90s", "15m", "2h", "7d"). */
export function parseSince(raw: string | undefined, now = Date.now()): Date | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)(s|m|h|d)$/.exec(raw);
  if (m) return new Date(now - Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s"]);
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new CliError(`--since must be an ISO 8601 time or a duration like 15m, got ${raw}`, 2);
  return new Date(t);
}
