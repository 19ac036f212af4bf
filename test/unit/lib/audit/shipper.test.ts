import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeFrames, encodeFrame, FrameKind, batchesOf } from "../../../../services/lib/audit/index.js";

const frame = (subject: string, n: number) =>
  decodeFrames(encodeFrame(FrameKind.Record, new Uint8Array([n]), `${subject} id-${n}`)).frames[0]!;

test("a segment's frames ship as one message per subject, in order, with ids that a re-ship repeats", () => {
  const frames = [frame("a", 1), frame("b", 2), frame("a", 3), frame("c", 4), frame("a", 5)];
  const batches = batchesOf("seg-1.wal", frames);
  assert.deepEqual(
    batches.map((b) => [b.subject, [...decodeFrames(b.data).frames.map((f) => f.payload[0])]]),
    [
      ["a", [1, 3, 5]],
      ["b", [2]],
      ["c", [4]],
    ],
  );
  assert.deepEqual(
    batchesOf("seg-1.wal", frames).map((b) => b.msgID),
    batches.map((b) => b.msgID),
    "the same ids on a second ship",
  );
  assert.equal(new Set(batches.map((b) => b.msgID)).size, 3, "distinct ids");
});

test("a long run of one subject is cut into batches of at most 512 frames", () => {
  const frames = Array.from({ length: 1100 }, (_, i) => frame("a", i % 256));
  const batches = batchesOf("seg-2.wal", frames);
  assert.deepEqual(
    batches.map((b) => decodeFrames(b.data).frames.length),
    [512, 512, 76],
  );
});
