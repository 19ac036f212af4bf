import { crc32 } from "node:zlib";

/** What a spool frame holds. */
export enum FrameKind {
  Record = 1,
  Checkpoint = 2,
  /** A human review's resolution (scoremesh.audit.v1.ReviewResolution), written by the monitor. */
  Review = 3,
  /** A reported outcome joined to its decision (scoremesh.audit.v1.OutcomeReport), written by the monitor. */
  Outcome = 4,
}

const KINDS = new Set<number>([FrameKind.Record, FrameKind.Checkpoint, FrameKind.Review, FrameKind.Outcome]);

/** One frame read back from a spool segment. */
export interface Frame {
  kind: FrameKind;
  /** Where the shipper sends it: "<subject> <publish id>" (kept beside the payload so it need not parse it). */
  meta: string;
  payload: Uint8Array;
  /** The whole frame as stored (header included), to ship as is. */
  raw: Uint8Array;
}

/** The frame header: length of kind + payload (u32 BE), CRC-32 of kind + payload (u32 BE). */
const HEADER = 8;

/**
 * One frame as it goes to the spool: `[length u32][crc32 u32][kind u8][meta length u16][meta][payload]`, length
 * and CRC over everything after the header. The CRC lets a reader tell a torn or damaged tail (a crash in the
 * middle of a write) from a whole frame.
 */
export function encodeFrame(kind: FrameKind, payload: Uint8Array, meta = ""): Buffer {
  const m = Buffer.from(meta, "utf8");
  const len = 1 + 2 + m.length + payload.length;
  const buf = Buffer.allocUnsafe(HEADER + len);
  buf.writeUInt32BE(len, 0);
  buf[HEADER] = kind;
  buf.writeUInt16BE(m.length, HEADER + 1);
  m.copy(buf, HEADER + 3);
  buf.set(payload, HEADER + 3 + m.length);
  buf.writeUInt32BE(crc32(buf.subarray(HEADER)), 4);
  return buf;
}

/** The whole frames at the start of `buf`, and where they end; `damaged` says why reading stopped early. */
export interface DecodedFrames {
  frames: Frame[];
  /** Bytes of `buf` that hold whole, intact frames; anything after is a torn or damaged tail. */
  goodBytes: number;
  /** Why the bytes after `goodBytes` were not read; undefined when the buffer ended on a frame boundary. */
  damaged?: string;
}

/** Reads frames from a spool segment until the end or the first incomplete or damaged frame. */
export function decodeFrames(buf: Uint8Array): DecodedFrames {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const frames: Frame[] = [];
  let at = 0;
  while (at < b.length) {
    if (b.length - at < HEADER + 1) return { frames, goodBytes: at, damaged: "incomplete frame header" };
    const len = b.readUInt32BE(at);
    if (len < 3 || at + HEADER + len > b.length)
      return { frames, goodBytes: at, damaged: `incomplete frame (${len} bytes announced)` };
    const body = b.subarray(at + HEADER, at + HEADER + len);
    if (crc32(body) !== b.readUInt32BE(at + 4)) return { frames, goodBytes: at, damaged: "frame checksum mismatch" };
    const kind = body[0] as FrameKind;
    if (!KINDS.has(kind)) return { frames, goodBytes: at, damaged: `unknown frame kind ${String(body[0])}` };
    const metaLen = body.readUInt16BE(1);
    if (3 + metaLen > len) return { frames, goodBytes: at, damaged: "frame metadata longer than the frame" };
    const raw = b.subarray(at, at + HEADER + len);
    frames.push({ kind, meta: body.toString("utf8", 3, 3 + metaLen), payload: body.subarray(3 + metaLen), raw });
    at += HEADER + len;
  }
  return { frames, goodBytes: at };
}
