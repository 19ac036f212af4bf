import { DeliverPolicy, type NatsConnection } from "nats";
import { AUDIT_STREAM } from "../../services/lib/audit/index.js";
import { CliError } from "./output.js";

/** Where to start reading the audit stream and which subjects to read. */
export interface StreamWindow {
  /** Messages stored at or after this time (all when undefined). */
  since?: Date;
  /** One subject filter, e.g. `scoremesh.audit.credit-default.*` (every subject when undefined). */
  subject?: string;
}

/**
 * Calls `fn` with every message of the audit stream in `window`, in stream order, one at a time (nothing is kept
 * in memory, so an export of millions of records runs in constant memory). Reads with an ordered consumer up to
 * the last message stored when it caught up, or until `fn` returns false; returns how many messages it read.
 */
export async function forEachStored(
  nc: NatsConnection,
  window: StreamWindow,
  fn: (seq: number, data: Uint8Array, storedMs: number) => boolean | void | Promise<boolean | void>,
): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(AUDIT_STREAM).catch((err: Error) => {
    throw new CliError(`cannot read the audit stream ${AUDIT_STREAM}: ${err.message}`);
  });
  if (info.state.messages === 0) return 0;
  const c = await nc.jetstream().consumers.get(AUDIT_STREAM, {
    ...(window.since ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: window.since.toISOString() } : {}),
    ...(window.subject ? { filterSubjects: window.subject } : {}),
  });
  let read = 0;
  for (;;) {
    let got = 0;
    let caughtUp = false;
    for await (const m of await c.fetch({ max_messages: 500, expires: 2000 })) {
      got++;
      read++;
      if ((await fn(m.seq, m.data, Math.floor(m.info.timestampNanos / 1e6))) === false) return read;
      if (m.info.pending === 0 || m.seq >= info.state.last_seq) caughtUp = true;
    }
    if (caughtUp || got === 0) return read;
  }
}
