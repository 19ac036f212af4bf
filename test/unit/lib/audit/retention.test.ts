import { test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { AuditRecordSchema } from "../../../../gen/scoremesh/audit/v1/audit_pb.js";
import {
  decodeFrames,
  encodeFrame,
  FrameKind,
  RetentionPlanner,
  verifyTrail,
  type TrailEntry,
} from "../../../../services/lib/audit/index.js";
import { keys, memoryLog, openTrail, record, spooled, tempDir } from "../../router/audit/audit-fixture.js";

type T = Parameters<typeof tempDir>[0];

/**
 * One writer's spool as the shipper stores it: `segments` segments of 3 calls (2 records each) with a checkpoint
 * after the second call (as the router's timer falls inside a segment), each segment shipped as one message of its
 * records and one of its checkpoints, the checkpoints' first when `cpFirst` (batches are published concurrently).
 * The first segment also holds the writer's announcing checkpoint.
 */
function writerMessages(t: T, segments: number, cpFirst: boolean): Buffer[] {
  const dir = tempDir(t);
  const { spool, trail } = openTrail(dir, memoryLog().log);
  const msgs: Buffer[] = [];
  let seen = 0;
  let n = 0;
  for (let i = 0; i < segments; i++) {
    for (let c = 0; c < 3; c++) {
      trail.record("credit-default", [record(++n), record(++n)]);
      if (c === 1) trail.checkpoint();
    }
    const seg = spooled(dir).slice(seen);
    seen += seg.length;
    const rec = Buffer.concat(seg.filter((e) => e.kind === FrameKind.Record).map(frameOf));
    const cps = Buffer.concat(seg.filter((e) => e.kind === FrameKind.Checkpoint).map(frameOf));
    msgs.push(...(cpFirst ? [cps, rec] : [rec, cps]));
  }
  spool.close();
  return msgs;
}

const frameOf = (e: TrailEntry) => encodeFrame(e.kind, e.bytes);

/** Two writers' messages interleaved, numbered from 1 as stream sequences. */
function stream(a: Buffer[], b: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...[a[i], b[i]].filter((x) => x !== undefined));
  return out;
}

/** The entries of the messages kept from stream sequence `from` on. */
function keptFrom(msgs: Buffer[], from: number): TrailEntry[] {
  const entries: TrailEntry[] = [];
  msgs.forEach((m, i) => {
    if (i + 1 < from) return;
    decodeFrames(m).frames.forEach((f, frame) => entries.push({ at: i + 1, frame, kind: f.kind, bytes: f.payload }));
  });
  return entries;
}

function plan(msgs: Buffer[], limit: number): number {
  const p = new RetentionPlanner(keys.publicKey);
  msgs.slice(0, limit - 1).forEach((m, i) => p.observe(i + 1, m));
  return p.cutBefore(limit, () => msgs.length);
}

const problems = (entries: TrailEntry[], cut = true) =>
  verifyTrail(entries, keys.publicKey, { cut }).problems.map((p) => `${p.kind} ${p.seq ?? ""}`.trim());

test("a cut the planner makes leaves verify passing, two writers, either batch order", (t) => {
  const kept: number[] = [];
  for (const cpFirst of [false, true]) {
    const msgs = stream(writerMessages(t, 6, cpFirst), writerMessages(t, 6, !cpFirst));
    for (const limit of [8, 11, 14, 17]) {
      const from = plan(msgs, limit);
      assert.ok(from > 1 && from <= limit, `cuts something, nothing stored after the cutoff (${from})`);
      assert.deepEqual(problems(keptFrom(msgs, from)), [], `cut before ${from} (limit ${limit}, cpFirst ${cpFirst})`);
      const report = verifyTrail(keptFrom(msgs, from), keys.publicKey, { cut: true });
      assert.ok(report.records > 0 && report.records <= 72, "the rest kept");
      kept.push(report.records);
    }
  }
  assert.ok(Math.min(...kept) < 72, `records were cut (${kept.join(", ")} of 72 kept)`);
});

test("a cut between a checkpoint and the records after its heads is named by verify", (t) => {
  // [rec 1-6, cp (4), rec 7-12, cp (10), ...]: keeping the checkpoint of the second segment but not its records
  // loses records 11 and 12, which come after the heads it signs; the planner keeps them.
  const msgs = writerMessages(t, 4, false);
  assert.deepEqual(problems(keptFrom(msgs, 4)), ["removed 11", "removed 12"]);
  assert.equal(plan(msgs, 5), 3, "the planner keeps the records after the oldest kept checkpoint's heads");
  assert.deepEqual(problems(keptFrom(msgs, 3)), []);
});

test("without the cut mode a cut trail reports the removed prefix (the mode is what accepts it)", (t) => {
  const msgs = writerMessages(t, 4, true);
  const from = plan(msgs, 5);
  assert.ok(problems(keptFrom(msgs, from), false).some((p) => p.startsWith("removed")));
});

test("after a cut, a record altered after the anchor and one kept before it are still named", (t) => {
  const msgs = writerMessages(t, 6, true);
  const from = plan(msgs, 6);
  const entries = keptFrom(msgs, from);
  const recs = entries.filter((e) => e.kind === FrameKind.Record);
  const alter = (e: TrailEntry) => {
    const r = fromBinary(AuditRecordSchema, e.bytes);
    r.score = 0.99;
    return { ...e, bytes: toBinary(AuditRecordSchema, r) };
  };
  const last = recs.at(-3)!;
  assert.deepEqual(problems(entries.map((e) => (e === last ? alter(e) : e))), [
    `altered ${fromBinary(AuditRecordSchema, last.bytes).link!.seq}`,
  ]);
  assert.ok(problems(entries.map((e) => (e === recs[0] ? alter(e) : e))).length === 1, "a leftover before the anchor");
});

test("a writer that ended before the cut goes whole; one that ends after keeps its anchor", (t) => {
  const a = writerMessages(t, 2, false); // 4 messages
  const b = writerMessages(t, 6, true); // 12 messages
  const msgs = [...a, ...b];
  const p = new RetentionPlanner(keys.publicKey);
  msgs.slice(0, 9).forEach((m, i) => p.observe(i + 1, m));
  const from = p.cutBefore(10, () => 0);
  assert.ok(from > 4, `writer a is cut whole (${from})`);
  assert.deepEqual(problems(keptFrom(msgs, from)), []);
});
