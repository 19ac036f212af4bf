import { test } from "node:test";
import assert from "node:assert/strict";
import type * as ort from "onnxruntime-node";
import type { LoadedVersion } from "../../../services/model-worker/loaded-version.js";
import { VersionStatistics } from "../../../services/model-worker/statistics.js";
import { runAlone, runVersionBatch } from "../../../services/model-worker/version-batch.js";

/** A version whose fake session answers each row of two columns with its sum (p) and both columns doubled (d). */
function fakeVersion(runs: number[][]): LoadedVersion {
  const session = {
    async run(feeds: Record<string, ort.Tensor>) {
      const x = feeds["x"]!.data as Float32Array;
      runs.push([...x]);
      const rows = x.length / 2;
      const p = Float32Array.from({ length: rows }, (_, r) => x[2 * r]! + x[2 * r + 1]!);
      const d = x.map((v) => 2 * v);
      return { p: { type: "float32", data: p }, d: { type: "float32", data: d } };
    },
  };
  return {
    cols: 2,
    inputName: "x",
    outputNames: ["p", "d"],
    stats: new VersionStatistics(),
    session,
  } as unknown as LoadedVersion;
}

test("the requests of a batch run as one model execution and each gets its rows of every output", async () => {
  const runs: number[][] = [];
  const lv = fakeVersion(runs);
  const out = await runVersionBatch(lv, [
    { input: new Float32Array([1, 2, 3, 4]), rows: 2, enqueuedAt: performance.now() },
    { input: new Float32Array([]), rows: 0, enqueuedAt: performance.now() },
    { input: new Float32Array([5, 6]), rows: 1, enqueuedAt: performance.now() },
  ]);
  assert.deepEqual(runs, [[1, 2, 3, 4, 5, 6]]);
  assert.deepEqual(
    out.map((tensors) => tensors.map((t) => [t.name, t.datatype, t.width, [...t.data]])),
    [
      [
        ["p", "FP32", 1, [3, 7]],
        ["d", "FP32", 2, [2, 4, 6, 8]],
      ],
      [
        ["p", "FP32", 1, []],
        ["d", "FP32", 2, []],
      ],
      [
        ["p", "FP32", 1, [11]],
        ["d", "FP32", 2, [10, 12]],
      ],
    ],
  );
  const s = lv.stats.toProto("m", "1");
  assert.equal(s.executionCount, 1n);
  assert.equal(s.inferenceCount, 3n, "three rows");
});

test("a request alone runs as a batch of one", async () => {
  const runs: number[][] = [];
  const out = await runAlone(fakeVersion(runs), new Float32Array([1, 1]), 1, performance.now());
  assert.deepEqual(runs, [[1, 1]]);
  assert.deepEqual([...out[0]!.data], [2]);
});
