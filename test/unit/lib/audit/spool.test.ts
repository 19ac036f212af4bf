import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  encodeFrame,
  FrameKind,
  verifyTrail,
  AuditUnavailableError,
  Spool,
} from "../../../../services/lib/audit/index.js";
import { keys, memoryLog, openTrail, record, spooled, tempDir } from "./audit-fixture.js";

const segments = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".wal"))
    .sort();

test("appended records are in the spool at once, and a reopened spool reads them back", (t) => {
  const dir = tempDir(t);
  const { spool, trail } = openTrail(dir, memoryLog().log);
  trail.record("credit-default", [record(1), record(2)]);
  assert.equal(spooled(dir).filter((e) => e.kind === FrameKind.Record).length, 2, "on disk before record() returns");
  spool.close();
  const again = Spool.open({ dir, writer: "router-test", syncMs: 10, maxBytes: 1 << 30, log: memoryLog().log });
  t.after(() => again.close());
  const records = spooled(dir).filter((e) => e.kind === FrameKind.Record);
  assert.deepEqual(records.map((e) => e.at).length, 2, "both records read back");
  assert.ok(again.bytes > 0, "counted in the spool's size");
});

for (const cut of [1, 7, 9, 30, -1]) {
  test(`a torn tail record (cut ${cut} bytes into the last frame) is dropped at reopen, never a corrupt chain`, (t) => {
    const dir = tempDir(t);
    const { spool, trail } = openTrail(dir, memoryLog().log);
    trail.record("credit-default", [record(1), record(2), record(3)]);
    spool.close();
    const [seg] = segments(dir);
    const path = join(dir, seg!);
    // A crash in the middle of the next write: part of a frame at the end of the segment.
    const next = encodeFrame(FrameKind.Record, new Uint8Array(200).fill(7), "scoremesh.audit.m.w w|m|4");
    appendFileSync(path, next.subarray(0, cut > 0 ? cut : next.length - 1));
    const sizeWithTail = statSync(path).size;
    const { log, lines } = memoryLog();
    const { spool: s2, trail: t2 } = openTrail(dir, log);
    assert.ok(statSync(path).size < sizeWithTail, "the torn tail was cut off");
    assert.ok(
      lines.some((l) => String(l["msg"]).includes("cut a torn tail")),
      "and logged",
    );
    t2.record("credit-default", [record(4)]);
    t2.checkpoint();
    s2.close();
    const entries = spooled(dir);
    const report = verifyTrail(entries, keys.publicKey);
    assert.deepEqual(report.problems, [], "both chains verify");
    assert.equal(report.records, 4, "the three whole records of the crashed writer and the new one");
  });
}

test("a damaged frame in a segment stops reading there: the frames before it are kept", (t) => {
  const dir = tempDir(t);
  const { spool, trail } = openTrail(dir, memoryLog().log);
  trail.record("credit-default", [record(1)]);
  spool.close();
  const path = join(dir, segments(dir)[0]!);
  const good = statSync(path).size;
  appendFileSync(
    path,
    Buffer.from([0, 0, 0, 20, 1, 2, 3, 4, 1, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]),
  );
  const again = Spool.open({ dir, writer: "router-test", syncMs: 10, maxBytes: 1 << 30, log: memoryLog().log });
  again.close();
  assert.equal(statSync(path).size, good);
});

test("a full spool refuses the decision (default) and the chain stays whole", (t) => {
  const dir = tempDir(t);
  const { spool, trail } = openTrail(dir, memoryLog().log, { maxBytes: 1200 });
  let refused = 0;
  for (let i = 1; i <= 20; i++) {
    try {
      trail.record("credit-default", [record(i)]);
    } catch (err) {
      assert.ok(err instanceof AuditUnavailableError);
      refused++;
    }
  }
  assert.ok(refused > 0, "some calls refused");
  spool.close();
  const report = verifyTrail(spooled(dir), keys.publicKey);
  assert.deepEqual(report.problems, []);
  assert.equal(report.records, 20 - refused);
});

test("with whenFull serve, a full spool serves unrecorded decisions, counts and logs them", (t) => {
  const dir = tempDir(t);
  const { log, lines } = memoryLog();
  const { spool, trail } = openTrail(dir, log, { maxBytes: 1200, whenFull: "serve" });
  for (let i = 1; i <= 20; i++) trail.record("credit-default", [record(i)]);
  spool.close();
  assert.ok(trail.unrecorded > 0);
  assert.ok(lines.some((l) => l["level"] === 50 && String(l["msg"]).includes("AUDIT SPOOL FULL")));
  assert.deepEqual(verifyTrail(spooled(dir), keys.publicKey).problems, []);
});

test("sealed segments are listed oldest first, removed once shipped, and the bytes follow", async (t) => {
  const dir = tempDir(t);
  const { spool, trail } = openTrail(dir, memoryLog().log);
  trail.record("credit-default", [record(1)]);
  await spool.seal();
  trail.record("credit-default", [record(2)]);
  await spool.seal();
  const sealed = spool.sealed();
  assert.equal(sealed.length, 2);
  const before = spool.bytes;
  spool.remove(sealed[0]!);
  assert.ok(spool.bytes < before);
  assert.equal(spool.sealed().length, 1);
  spool.close();
});

test("a spool folder held by a live process is refused; a lock left by a dead one is taken over", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "spool.lock"), String(process.ppid));
  assert.throws(
    () => Spool.open({ dir, writer: "router-test", syncMs: 10, maxBytes: 1 << 20, log: memoryLog().log }),
    /held by process/,
  );
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
  writeFileSync(join(dir, "spool.lock"), dead);
  const s = Spool.open({ dir, writer: "router-test", syncMs: 10, maxBytes: 1 << 20, log: memoryLog().log });
  s.close();
});
