import { test } from "node:test";
import assert from "node:assert/strict";
import { poolProblem } from "../../../tools/meshctl/pool.js";

const w = (address: string, labels: string[] | undefined, ready: string[]) => ({
  address,
  labels,
  models: ready.map((version) => ({ model: "credit-default", version, provider: "cpu", ready: true })),
});

test("meshctl pool refuses a label no live worker carries, or one whose workers lack the version, with the reason", () => {
  const workers = [w("a:1", ["cpu"], ["3", "5"]), w("b:1", ["gpu"], ["5"]), w("c:1", undefined, ["3"])];
  assert.equal(poolProblem("credit-default", "5", "gpu", workers), undefined);
  assert.equal(poolProblem("credit-default", "3", "cpu", workers), undefined);
  assert.equal(
    poolProblem("credit-default", "3", "tpu", workers),
    "refused: no live model worker carries label tpu (3 worker(s) report; labels: a:1 cpu; b:1 gpu; c:1 (none)); label workers with WORKER_LABELS",
  );
  assert.match(
    poolProblem("credit-default", "3", "gpu", workers)!,
    /^refused: no model worker labelled gpu has credit-default version 3 ready \(labelled: b:1\)$/,
  );
  assert.match(poolProblem("credit-default", "3", "gpu", [])!, /0 worker\(s\) report; labels: none/);
});
