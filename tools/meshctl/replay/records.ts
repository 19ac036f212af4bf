import { fromBinary } from "@bufbuild/protobuf";
import { AuditRecordSchema, type AuditRecord } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { FrameKind, type TrailEntry } from "../../../services/lib/audit/index.js";
import { CliError } from "../output.js";

/** A record with where it is stored. */
export interface StoredRecord {
  at: number;
  record: AuditRecord;
}

/**
 * The audit records of a trail in stream order, each chain position once (a re-shipped copy is dropped), only
 * those of `requestId` (or `model`) when given, at most `limit`. Frames that are not records are skipped.
 */
export function auditRecordsOf(
  entries: readonly TrailEntry[],
  o: { requestId?: string; limit?: number; model?: string } = {},
): StoredRecord[] {
  const out: StoredRecord[] = [];
  const seen = new Set<string>();
  const needle = o.requestId === undefined ? undefined : Buffer.from(o.requestId, "utf8");
  for (const e of entries) {
    if (o.limit !== undefined && out.length >= o.limit) break;
    if (e.kind !== FrameKind.Record) continue;
    if (needle && Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength).indexOf(needle) < 0) continue;
    const record = fromBinary(AuditRecordSchema, e.bytes);
    if (o.requestId !== undefined && record.requestId !== o.requestId) continue;
    if (o.model !== undefined && record.model !== o.model) continue;
    const key = `${record.model}|${record.link?.writer}|${record.link?.seq}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ at: e.at, record });
  }
  return out;
}

/** Records grouped by (model, version), in the order first seen, each group in stream order. */
export function byVersion<T extends { record: AuditRecord }>(items: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const k = `${it.record.model}|${it.record.modelVersion}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(it);
  }
  return [...groups.values()];
}

/** `--limit N`: a whole number in [1, 10,000,000]; undefined when not given. */
export function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000_000)
    throw new CliError(`--limit must be an integer in [1, 10000000], got ${raw}`, 2);
  return n;
}

/** Reports progress on stderr about every 2 s (long runs), never on stdout. */
export class Progress {
  private last = Date.now();
  private readonly started = Date.now();
  constructor(
    private readonly what: string,
    private readonly total: number,
    private readonly everyMs = 2000,
  ) {}

  tick(done: number): void {
    if (Date.now() - this.last < this.everyMs) return;
    this.last = Date.now();
    const s = (Date.now() - this.started) / 1000;
    process.stderr.write(`${this.what}: ${done}/${this.total} records (${Math.round(done / s)}/s)\n`);
  }
}
