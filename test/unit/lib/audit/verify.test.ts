import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { generateKeyPairSync } from "node:crypto";
import { AuditRecordSchema, ChainLinkSchema } from "../../../../gen/scoremesh/audit/v1/audit_pb.js";
import { FrameKind, verifyTrail, type TrailEntry } from "../../../../services/lib/audit/index.js";
import { keys, memoryLog, openTrail, record, spooled, tempDir } from "./audit-fixture.js";

/** A trail of one writer: `n` records of credit-default in calls of 2, a checkpoint after `signedUpTo` records. */
function trail(t: Parameters<typeof tempDir>[0], n: number, signedUpTo = n): TrailEntry[] {
  const dir = tempDir(t);
  const { spool, trail } = openTrail(dir, memoryLog().log);
  for (let i = 1; i <= n; i += 2) {
    trail.record("credit-default", i < n ? [record(i), record(i + 1)] : [record(i)]);
    if (i + 1 === signedUpTo || i === signedUpTo) trail.checkpoint();
  }
  spool.close();
  return spooled(dir);
}

const records = (entries: TrailEntry[]) => entries.filter((e) => e.kind === FrameKind.Record);
const kinds = (entries: TrailEntry[], partial = false) =>
  verifyTrail(entries, keys.publicKey, partial).problems.map((p) =>
    `${p.kind} ${p.seq ?? ""} ${p.requestId ?? ""}`.trim(),
  );

function edit(e: TrailEntry, change: (r: ReturnType<typeof fromBinary<typeof AuditRecordSchema>>) => void): TrailEntry {
  const r = fromBinary(AuditRecordSchema, e.bytes);
  change(r);
  return { ...e, bytes: toBinary(AuditRecordSchema, r) };
}

test("an untouched trail verifies: every record chained, the head signed", (t) => {
  const entries = trail(t, 10);
  const report = verifyTrail(entries, keys.publicKey);
  assert.deepEqual(report.problems, []);
  assert.equal(report.records, 10);
  assert.equal(report.chains, 1);
  assert.equal(report.unsignedTail, 0);
});

test("a record altered in the middle of a chain is named", (t) => {
  const entries = trail(t, 10);
  const target = records(entries)[4]!;
  const tampered = entries.map((e) => (e === target ? edit(e, (r) => (r.score = 0.01)) : e));
  assert.deepEqual(kinds(tampered), ["altered 5 r-5"]);
});

test("the signed head altered is named by the checkpoint", (t) => {
  const entries = trail(t, 10);
  const last = records(entries).at(-1)!;
  const tampered = entries.map((e) => (e === last ? edit(e, (r) => (r.decision = 3)) : e));
  assert.deepEqual(kinds(tampered), ["altered 10 r-10"]);
});

test("a record removed is named by its sequence number", (t) => {
  const entries = trail(t, 10);
  const gone = records(entries)[6]!;
  assert.deepEqual(kinds(entries.filter((e) => e !== gone)), ["removed 7"]);
});

test("a record removed at the signed head is named", (t) => {
  const entries = trail(t, 10);
  const gone = records(entries).at(-1)!;
  assert.deepEqual(kinds(entries.filter((e) => e !== gone)), ["removed 10"]);
});

test("a record inserted with a sequence number in use is named, the genuine one kept", (t) => {
  const entries = trail(t, 10);
  const copy = edit(records(entries)[3]!, (r) => (r.requestId = "forged"));
  const at = entries.indexOf(records(entries)[5]!);
  const tampered = [...entries.slice(0, at), { ...copy, at: 999 }, ...entries.slice(at)];
  assert.deepEqual(kinds(tampered), ["inserted 4 forged"]);
});

test("a whole chain of a writer no checkpoint announces is named as inserted", (t) => {
  const entries = trail(t, 4);
  const forged = create(AuditRecordSchema, { requestId: "r-99", score: 0.01 });
  forged.model = "credit-default";
  forged.link = create(ChainLinkSchema, { writer: "router-evil", seq: 1n, prevHash: new Uint8Array(32) });
  const tampered = [...entries, { at: 500, kind: FrameKind.Record, bytes: toBinary(AuditRecordSchema, forged) }];
  assert.deepEqual(kinds(tampered), ["inserted"]);
});

test("a checkpoint signed with another key is refused", (t) => {
  const entries = trail(t, 4);
  const other = generateKeyPairSync("ed25519");
  const report = verifyTrail(entries, other.publicKey);
  assert.ok(report.problems.some((p) => p.kind === "bad-checkpoint"));
});

test("records after the last checkpoint are counted as an unsigned tail, not as a problem", (t) => {
  const entries = trail(t, 10, 4);
  const report = verifyTrail(entries, keys.publicKey);
  assert.deepEqual(report.problems, []);
  assert.equal(report.unsignedTail, 6);
});

test("a window (--since) may start in the middle of a chain", (t) => {
  const entries = trail(t, 10);
  const from = entries.indexOf(records(entries)[4]!);
  assert.deepEqual(kinds(entries.slice(from), true), []);
  assert.ok(kinds(entries.slice(from)).includes("removed 1"), "without the window, the start is missing");
});
