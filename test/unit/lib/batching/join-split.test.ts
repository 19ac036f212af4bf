import { test } from "node:test";
import assert from "node:assert/strict";
import { Batcher } from "../../../../services/lib/batching/batcher.js";
import {
  joinLists,
  joinMatrices,
  joinSplit,
  rowSlices,
  sliceList,
  sliceRows,
  type BatchPart,
} from "../../../../services/lib/batching/join-split.js";
import { FakeClock } from "../../../support/fake-clock.js";

test("the slices of parts lie one after another", () => {
  assert.deepEqual(rowSlices([2, 0, 3]), [
    { offset: 0, count: 2 },
    { offset: 2, count: 0 },
    { offset: 2, count: 3 },
  ]);
  assert.deepEqual(rowSlices([]), []);
});

test("lists are joined in order and each caller gets its own answers back, the one with no rows an empty list", async () => {
  const parts: BatchPart<string[]>[] = [
    { input: ["a", "b"], rows: 2 },
    { input: [], rows: 0 },
    { input: ["c"], rows: 1 },
  ];
  const calls: [string[], number][] = [];
  const out = await joinSplit(parts, {
    join: joinLists,
    call: async (rows: string[], n) => (calls.push([rows, n]), rows.map((r) => r.toUpperCase())),
    split: sliceList,
  });
  assert.deepEqual(calls, [[["a", "b", "c"], 3]], "one call for every row");
  assert.deepEqual(out, [["A", "B"], [], ["C"]]);
});

test("matrices are joined row after row and each caller gets a view of its rows of the answer", async () => {
  const parts: BatchPart<Float32Array>[] = [
    { input: new Float32Array([1, 2, 3, 4]), rows: 2 },
    { input: new Float32Array([]), rows: 0 },
    { input: new Float32Array([5, 6]), rows: 1 },
  ];
  let answer: Float32Array | undefined;
  const out = await joinSplit(parts, {
    join: joinMatrices,
    // Two columns in, two columns out: each row's sum and product.
    call: async (m, rows) =>
      (answer = Float32Array.from({ length: 2 * rows }, (_, i) => (i % 2 ? m[i - 1]! * m[i]! : m[i]! + m[i + 1]!))),
    split: (a, slice) => sliceRows(a, slice, 2),
  });
  assert.deepEqual(
    out.map((o) => [...o]),
    [[3, 2, 7, 12], [], [11, 30]],
  );
  assert.equal(out[0]!.buffer, answer!.buffer, "a view, not a copy");
  assert.equal(out[1]!.length, 0);
});

test("a single part is passed on as it is, not copied", () => {
  const m = new Float32Array([1, 2]);
  const l = [1, 2];
  assert.equal(joinMatrices([m]), m);
  assert.equal(joinLists([l]), l);
  assert.deepEqual([...joinMatrices([m, new Float32Array([3])])], [1, 2, 3]);
});

test("the error of the joined call reaches every caller of the batch, the one with no rows too", async () => {
  const clock = new FakeClock();
  const failure = new Error("downstream down");
  let calls = 0;
  const b = new Batcher<number[], number[]>(
    (batch) =>
      joinSplit(batch, {
        join: (lists: number[][]) => joinLists(lists),
        call: async (): Promise<number[]> => {
          calls++;
          throw failure;
        },
        split: sliceList,
      }),
    { clock },
  );
  const outcomes = [[1, 2], [], [3]].map((rows) =>
    b.submit(rows, rows.length).then(
      () => "answered",
      (e: unknown) => e,
    ),
  );
  await clock.advance(0);
  assert.deepEqual(await Promise.all(outcomes), [failure, failure, failure]);
  assert.equal(calls, 1);
});

test("through a batcher, each caller gets its own slice, however the batch was made up", async () => {
  const clock = new FakeClock();
  const b = new Batcher<number[], number[]>(
    (batch) =>
      joinSplit(batch, {
        join: (lists: number[][]) => joinLists(lists),
        call: async (rows) => rows.map((x) => x * 10),
        split: sliceList,
      }),
    { clock, maxBatchRows: 3 },
  );
  const ps = [[1], [], [2, 3], [4]].map((rows) => b.submit(rows, rows.length));
  await clock.advance(0);
  assert.deepEqual(await Promise.all(ps), [[10], [], [20, 30], [40]]);
  assert.equal(b.stats().batches, 2, "three rows, then the fourth");
});
