import { fromBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { createWriteStream, openSync, type WriteStream } from "node:fs";
import { once } from "node:events";
import { AuditRecordSchema } from "../../gen/scoremesh/audit/v1/audit_pb.js";
import {
  AUDIT_RECORD_PREFIX,
  decodeFrames,
  FrameKind,
  hex,
  sha256,
  subjectToken,
} from "../../services/lib/audit/index.js";
import { parseSince } from "./audit-read.js";
import { forEachStored } from "./audit-stream.js";
import { withNats } from "./nats.js";
import { CliError, messageJson } from "./output.js";
import type { MeshTarget } from "./target.js";

export const EXPORT_USAGE = "usage: meshctl audit export --since T --until T [--model M] [--tenant ID] [--out FILE]";

/**
 * How long after its decision a record may be stored at the latest and still be found: the stream is read from
 * `since` minus this (a router's spool ships late after a NATS outage or a router restart; clocks differ).
 */
export const EXPORT_STORE_SLACK_MS = 10 * 60_000;

/** Which records an export writes: decided in [since, until), of one model and one tenant when given. */
export interface ExportFilter {
  sinceMs: number;
  untilMs: number;
  model?: string;
  tenant?: string;
}

/**
 * The JSON Lines lines of the records in one stored message that pass `f`: `{"streamSeq", "hash", "record"}` per
 * record, the record as protobuf JSON (as `audit show --json` prints it). Unreadable frames are counted in `bad`.
 */
export function exportLines(seq: number, data: Uint8Array, f: ExportFilter, bad: { count: number }): string[] {
  const { frames, damaged } = decodeFrames(data);
  if (damaged) bad.count++;
  const tenant = f.tenant === undefined ? undefined : Buffer.from(f.tenant, "utf8");
  const out: string[] = [];
  for (const fr of frames) {
    if (fr.kind !== FrameKind.Record) continue;
    // Decode only the records that can hold the tenant's id.
    if (tenant && Buffer.from(fr.payload).indexOf(tenant) < 0) continue;
    let record;
    try {
      record = fromBinary(AuditRecordSchema, fr.payload);
    } catch {
      bad.count++;
      continue;
    }
    const at = record.decidedAt ? timestampMs(record.decidedAt) : 0;
    if (at < f.sinceMs || at >= f.untilMs) continue;
    if ((f.model !== undefined && record.model !== f.model) || (f.tenant !== undefined && record.tenantId !== f.tenant))
      continue;
    const line = { streamSeq: seq, hash: hex(sha256(fr.payload)), record: messageJson(AuditRecordSchema, record) };
    out.push(JSON.stringify(line));
  }
  return out;
}

/** `--until T`: like --since (an ISO time or a duration back from now); now when absent. */
export function exportFilterOf(
  values: { since?: string; until?: string; model?: string; tenant?: string },
  now = Date.now(),
): ExportFilter {
  if (values.since === undefined) throw new CliError(`--since is required\n${EXPORT_USAGE}`, 2);
  const since = parseSince(values.since, now)!.getTime();
  let until = now;
  if (values.until !== undefined) {
    try {
      until = parseSince(values.until, now)!.getTime();
    } catch {
      throw new CliError(`--until must be an ISO 8601 time or a duration like 15m, got ${values.until}`, 2);
    }
  }
  if (until <= since) throw new CliError(`--until (${new Date(until).toISOString()}) must be after --since`, 2);
  return { sinceMs: since, untilMs: until, model: values.model, tenant: values.tenant };
}

/**
 * `meshctl audit export`: the decision records as JSON Lines on stdout or in `--out FILE`; progress and the
 * summary on stderr (stdout holds only records, so it can be piped).
 */
export async function auditExport(
  target: MeshTarget,
  values: { since?: string; until?: string; model?: string; tenant?: string; out?: string },
): Promise<void> {
  const f = exportFilterOf(values);
  const sink = values.out ? fileSink(values.out) : process.stdout;
  const bad = { count: 0 };
  let written = 0;
  let last = Date.now();
  const started = Date.now();
  const subject = `${AUDIT_RECORD_PREFIX}.${f.model === undefined ? "*" : subjectToken(f.model)}.*`;
  const read = await withNats(target, (nc) =>
    forEachStored(nc, { since: new Date(f.sinceMs - EXPORT_STORE_SLACK_MS), subject }, async (seq, data) => {
      const lines = exportLines(seq, data, f, bad);
      written += lines.length;
      if (lines.length > 0 && !sink.write(lines.join("\n") + "\n")) await once(sink, "drain");
      if (Date.now() - last >= 2000) {
        last = Date.now();
        process.stderr.write(`export: ${written} records written, ${seq} stream seq reached\n`);
      }
    }),
  );
  if (values.out) {
    sink.end();
    await once(sink, "finish");
  }
  const s = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(
    `exported ${written} records decided ${new Date(f.sinceMs).toISOString()} to ${new Date(f.untilMs).toISOString()}` +
      `${f.model ? ` of ${f.model}` : ""}${f.tenant ? ` of tenant ${f.tenant}` : ""} (${read} stored messages read in ${s} s)` +
      `${values.out ? ` to ${values.out}` : ""}${bad.count ? `; ${bad.count} unreadable (run audit verify)` : ""}\n`,
  );
  if (bad.count > 0) process.exitCode = 1;
}

/** The file `--out` names, opened now so that a bad path is a clear error, not a crash later. */
function fileSink(path: string): WriteStream {
  let fd: number;
  try {
    fd = openSync(path, "w", 0o600);
  } catch (err) {
    throw new CliError(`--out ${path}: ${(err as Error).message}`, 2);
  }
  return createWriteStream("", { fd });
}
