import { fromBinary } from "@bufbuild/protobuf";
import type { KeyObject } from "node:crypto";
import { AuditRecordSchema, type AuditRecord } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { GENESIS_HASH, hex, sameBytes, sha256 } from "./chain.js";
import { openCheckpoint } from "./checkpoint.js";
import { FrameKind } from "./frames.js";

/** One stored entry of the trail, in stream order. */
export interface TrailEntry {
  /** Where it is stored (the stream sequence of its message), for the report. */
  at: number;
  /** Its place among the frames of that message (0 for the first). */
  frame?: number;
  kind: FrameKind;
  bytes: Uint8Array;
}

/** Something `verify` found wrong, naming the chain and the record. */
export interface Problem {
  kind: "altered" | "removed" | "inserted" | "unreadable" | "bad-checkpoint";
  model?: string;
  writer?: string;
  seq?: string;
  requestId?: string;
  /** The stream sequence of the entry concerned, where there is one, and its frame in that message. */
  at?: number;
  frame?: number;
  detail: string;
}

export interface VerifyReport {
  records: number;
  chains: number;
  checkpoints: number;
  /** Records after their writer's last checkpoint: chained, not yet covered by a signature. */
  unsignedTail: number;
  problems: Problem[];
}

interface Stored {
  at: number;
  frame?: number;
  bytes: Uint8Array;
  hash: Uint8Array;
  record: AuditRecord;
}

/** What the valid checkpoints say: the hash of record `seq` of each chain, and the writers they announce. */
interface Signed {
  heads: Map<string, Map<bigint, Uint8Array>>;
  writers: Set<string>;
  count: number;
  /** Per writer, the heads (by model) of its oldest valid checkpoint: where its chains start after a retention cut. */
  oldest: Map<string, Map<string, Anchor>>;
  oldestSeq: Map<string, bigint>;
}

/** A signed chain head a walk starts after. */
export interface Anchor {
  seq: bigint;
  hash: Uint8Array;
}

/**
 * How to walk: `partial` (a --since window: chains may start anywhere, their first link taken as is); `cut` (the
 * stream lost its oldest messages to a retention cut: a chain starts after the head its writer's oldest kept
 * checkpoint signs and must be whole from there; records kept from before that head are checked back by their
 * links). A window already takes chains as they start, so `cut` counts only without `partial`.
 */
export interface VerifyMode {
  partial?: boolean;
  cut?: boolean;
}

const chainKey = (model: string, writer: string) => `${model}\u0000${writer}`;

/**
 * Walks every chain of `entries` (records and checkpoints in stream order) and names each record altered,
 * removed or inserted. With `partial` (a --since window) chains may start after seq 1 and writers announced
 * before the window are not required.
 */
export function verifyTrail(entries: TrailEntry[], key: KeyObject, mode: boolean | VerifyMode = false): VerifyReport {
  const { partial = false, cut = false } = typeof mode === "boolean" ? { partial: mode } : mode;
  const problems: Problem[] = [];
  const signed = readCheckpoints(entries, key, problems);
  const chains = groupChains(entries, problems);
  let unsignedTail = 0;
  let records = 0;
  for (const [k, bySeq] of chains) {
    const [model, writer] = k.split("\u0000") as [string, string];
    if (!partial && !signed.writers.has(writer))
      problems.push({ kind: "inserted", model, writer, detail: "chain of a writer no signed checkpoint announces" });
    const heads = signed.heads.get(k) ?? new Map<bigint, Uint8Array>();
    const anchor = cut && !partial ? signed.oldest.get(writer)?.get(model) : undefined;
    if (anchor) checkBeforeAnchor({ model, writer }, bySeq, anchor, problems);
    walkChain(model, writer, bySeq, heads, partial, problems, anchor);
    const lastSigned = [...heads.keys()].reduce((a, b) => (b > a ? b : a), 0n);
    for (const seq of bySeq.keys()) if (seq > lastSigned) unsignedTail++;
    for (const list of bySeq.values()) records += list.length;
  }
  return { records, chains: chains.size, checkpoints: signed.count, unsignedTail, problems };
}

function readCheckpoints(entries: TrailEntry[], key: KeyObject, problems: Problem[]): Signed {
  const signed: Signed = { heads: new Map(), writers: new Set(), count: 0, oldest: new Map(), oldestSeq: new Map() };
  for (const e of entries) {
    if (e.kind !== FrameKind.Checkpoint) continue;
    let body;
    try {
      body = openCheckpoint(e.bytes, key);
    } catch {
      body = undefined;
    }
    if (!body) {
      problems.push({ kind: "bad-checkpoint", at: e.at, detail: "checkpoint unreadable or its signature fails" });
      continue;
    }
    signed.count++;
    signed.writers.add(body.writer);
    if (!signed.oldestSeq.has(body.writer) || body.seq < signed.oldestSeq.get(body.writer)!) {
      signed.oldestSeq.set(body.writer, body.seq);
      signed.oldest.set(body.writer, new Map(body.heads.map((h) => [h.model, { seq: h.seq, hash: h.hash }])));
    }
    for (const h of body.heads) {
      const k = chainKey(h.model, h.writer);
      if (!signed.heads.has(k)) signed.heads.set(k, new Map());
      signed.heads.get(k)!.set(h.seq, h.hash);
    }
  }
  return signed;
}

/** Records by chain, then by sequence number (byte-identical copies, e.g. re-shipped, kept once). */
function groupChains(entries: TrailEntry[], problems: Problem[]): Map<string, Map<bigint, Stored[]>> {
  const chains = new Map<string, Map<bigint, Stored[]>>();
  for (const e of entries) {
    if (e.kind !== FrameKind.Record) continue;
    let record: AuditRecord;
    try {
      record = fromBinary(AuditRecordSchema, e.bytes);
    } catch {
      problems.push({ kind: "unreadable", at: e.at, detail: "not an audit record (altered bytes?)" });
      continue;
    }
    const k = chainKey(record.model, record.link?.writer ?? "");
    if (!chains.has(k)) chains.set(k, new Map());
    const bySeq = chains.get(k)!;
    const seq = record.link?.seq ?? 0n;
    const list = bySeq.get(seq) ?? [];
    if (!list.some((s) => sameBytes(s.bytes, e.bytes)))
      list.push({ at: e.at, frame: e.frame, bytes: e.bytes, hash: sha256(e.bytes), record });
    bySeq.set(seq, list);
  }
  return chains;
}

/** Checks one chain from its first record (seq 1 unless partial) to its last record or signed head. */
function walkChain(
  model: string,
  writer: string,
  bySeq: Map<bigint, Stored[]>,
  heads: Map<bigint, Uint8Array>,
  partial: boolean,
  problems: Problem[],
  anchor?: Anchor,
): void {
  const seqs = [...bySeq.keys(), ...heads.keys()];
  const first = anchor ? anchor.seq + 1n : partial ? seqs.reduce((a, b) => (b < a ? b : a)) : 1n;
  const last = seqs.reduce((a, b) => (b > a ? b : a), 0n);
  const name = { model, writer };
  let prev: Stored | undefined;
  let prevHash: Uint8Array | undefined = anchor ? anchor.hash : partial ? undefined : GENESIS_HASH;
  for (let seq = first; seq <= last; seq++) {
    const list = bySeq.get(seq) ?? [];
    if (list.length === 0) {
      problems.push({ ...name, kind: "removed", seq: String(seq), detail: "record missing from the chain" });
      prev = undefined;
      prevHash = heads.get(seq);
      continue;
    }
    const genuine = list.find((s) => fits(s, prevHash, bySeq.get(seq + 1n) ?? [], heads.get(seq))) ?? list[0]!;
    for (const s of list)
      if (s !== genuine) problems.push(problem("inserted", name, s, "a second record with this sequence number"));
    checkLink(name, prev, prevHash, genuine, heads, problems);
    const signedHash = heads.get(seq);
    if (signedHash && !sameBytes(signedHash, genuine.hash))
      problems.push(
        problem("altered", name, genuine, `hash ${hex(genuine.hash)} differs from the signed checkpoint's`),
      );
    prev = genuine;
    prevHash = genuine.hash;
  }
}

/** `s` links to the previous record, is linked by a next one (if any), and matches a signed head (if any). */
function fits(s: Stored, prevHash: Uint8Array | undefined, next: Stored[], signed: Uint8Array | undefined): boolean {
  const linksPrev = prevHash === undefined || sameBytes(s.record.link!.prevHash, prevHash);
  const linkedByNext = next.length === 0 || next.some((n) => sameBytes(n.record.link!.prevHash, s.hash));
  return linksPrev && linkedByNext && (signed === undefined || sameBytes(signed, s.hash));
}

/** A broken link from `prev` to `cur`: blames `prev` unless a checkpoint vouches for it. */
function checkLink(
  name: { model: string; writer: string },
  prev: Stored | undefined,
  prevHash: Uint8Array | undefined,
  cur: Stored,
  heads: Map<bigint, Uint8Array>,
  problems: Problem[],
): void {
  if (prevHash === undefined || sameBytes(cur.record.link!.prevHash, prevHash)) return;
  const prevSigned = prev && heads.get(prev.record.link!.seq);
  if (prev && !(prevSigned && sameBytes(prevSigned, prev.hash))) {
    if (
      !problems.some(
        (p) =>
          p.kind === "altered" &&
          p.writer === name.writer &&
          p.model === name.model &&
          p.seq === String(prev.record.link!.seq),
      )
    )
      problems.push(problem("altered", name, prev, "its hash no longer matches the link in the next record"));
  } else {
    problems.push(problem("altered", name, cur, "its link to the previous record was changed"));
  }
}

function problem(kind: Problem["kind"], name: { model: string; writer: string }, s: Stored, detail: string): Problem {
  const where = s.frame === undefined ? { at: s.at } : { at: s.at, frame: s.frame };
  return { ...name, kind, seq: String(s.record.link!.seq), requestId: s.record.requestId, ...where, detail };
}

/**
 * After a retention cut, the records a chain kept from before its anchor (a stored batch that straddled it): each
 * must be the one the next record links to (the anchor's hash for the head), back to the first gap.
 */
function checkBeforeAnchor(
  name: { model: string; writer: string },
  bySeq: Map<bigint, Stored[]>,
  anchor: Anchor,
  problems: Problem[],
): void {
  let expected = anchor.hash;
  for (let seq = anchor.seq; seq >= 1n; seq--) {
    const list = bySeq.get(seq);
    if (!list) return;
    const genuine = list.find((s) => sameBytes(s.hash, expected));
    for (const s of list)
      if (s !== genuine)
        problems.push(
          genuine
            ? problem("inserted", name, s, "a second record with this sequence number")
            : problem("altered", name, s, "its hash differs from the link in the next record (or the signed head)"),
        );
    if (!genuine) return;
    expected = genuine.record.link!.prevHash;
  }
}
