import { fromBinary } from "@bufbuild/protobuf";
import type { KeyObject } from "node:crypto";
import { AuditRecordSchema } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { openCheckpoint } from "./checkpoint.js";
import { decodeFrames, FrameKind } from "./frames.js";

/** A valid checkpoint of one writer: where it is stored and the chain heads it signs (model → seq). */
interface Cp {
  at: number;
  heads: Map<string, bigint>;
}

/** What the planner keeps of one writer: its first message, its checkpoints, its record batches per model. */
interface Writer {
  firstAt: number;
  lastAt: number;
  cps: Cp[];
  /** Per model: each stored message of its chain, with the highest record seq it holds. */
  batches: Map<string, { at: number; maxSeq: bigint }[]>;
}

/**
 * Plans a retention cut that verify can start from: reads the stream's messages stored before the cutoff (in
 * stream order, `observe`), then `cutBefore` gives the stream sequence to purge up to (messages below it go), so
 * that every writer that keeps anything keeps its oldest kept valid checkpoint and every record after the heads
 * it signs. Writers that end before the cut go whole. Keeps only a few numbers per stored batch, not the records.
 */
export class RetentionPlanner {
  private readonly writers = new Map<string, Writer>();

  constructor(private readonly key: KeyObject) {}

  /** One stored message (a batch of frames of one subject). */
  observe(at: number, data: Uint8Array): void {
    for (const f of decodeFrames(data).frames) {
      if (f.kind === FrameKind.Checkpoint) this.checkpoint(at, f.payload);
      else if (f.kind === FrameKind.Record) this.record(at, f.payload);
    }
  }

  private writer(name: string, at: number): Writer {
    let w = this.writers.get(name);
    if (!w) this.writers.set(name, (w = { firstAt: at, lastAt: at, cps: [], batches: new Map() }));
    w.lastAt = Math.max(w.lastAt, at);
    return w;
  }

  private checkpoint(at: number, bytes: Uint8Array): void {
    let body;
    try {
      body = openCheckpoint(bytes, this.key);
    } catch {
      body = undefined;
    }
    // A checkpoint that does not verify anchors nothing (verify reports it).
    if (!body) return;
    this.writer(body.writer, at).cps.push({ at, heads: new Map(body.heads.map((h) => [h.model, h.seq])) });
  }

  private record(at: number, bytes: Uint8Array): void {
    let r;
    try {
      r = fromBinary(AuditRecordSchema, bytes);
    } catch {
      return;
    }
    const w = this.writer(r.link?.writer ?? "", at);
    const list = w.batches.get(r.model) ?? [];
    const seq = r.link?.seq ?? 0n;
    const last = list[list.length - 1];
    if (last?.at === at) last.maxSeq = seq > last.maxSeq ? seq : last.maxSeq;
    else list.push({ at, maxSeq: seq });
    w.batches.set(r.model, list);
  }

  /**
   * The first stream sequence to keep, at most `limit` (the first message stored after the cutoff). `laterAt`
   * tells the last sequence a writer stored anything at, counting messages after the cutoff (undefined: none).
   */
  cutBefore(limit: number, laterAt: (writer: string) => number | undefined = () => undefined): number {
    let s = limit;
    for (let moved = true; moved;) {
      moved = false;
      for (const [name, w] of this.writers) {
        if (Math.max(w.lastAt, laterAt(name) ?? 0) < s) continue; // wholly before the cut: goes whole
        const b = this.boundOf(w, s);
        if (b < s) [s, moved] = [b, true];
      }
    }
    return s;
  }

  /**
   * The lowest sequence a cut at `s` may reach for `w`: its oldest valid checkpoint at or after `s` (else its
   * newest before `s`) must stay, with every record after its heads.
   */
  private boundOf(w: Writer, s: number): number {
    const cp = w.cps.find((c) => c.at >= s) ?? w.cps.at(-1);
    if (!cp) return Math.min(s, w.firstAt);
    let b = cp.at;
    for (const [model, list] of w.batches) {
      const head = cp.heads.get(model) ?? 0n;
      for (const m of list) if (m.maxSeq > head && m.at < b) b = m.at;
    }
    return b;
  }

  /** The writers seen (for the `laterAt` lookups). */
  writerModels(): [string, string[]][] {
    return [...this.writers].map(([name, w]) => [name, [...w.batches.keys()]]);
  }
}
