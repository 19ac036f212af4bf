import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  batchErrorToRpc,
  DeadlineExpiredError,
  QueueFullError,
  RequestCancelledError,
} from "../../../../services/lib/batching/batch-errors.js";

const code = (e: unknown) => (e instanceof ConnectError ? Code[e.code] : "not a ConnectError");

test("the batcher's refusals become RPC codes; the batch's own error passes as it is", () => {
  const full = batchErrorToRpc(new QueueFullError(100, 3), "router queue for m/1 is full");
  assert.equal(code(full), "ResourceExhausted");
  assert.match(
    (full as ConnectError).rawMessage,
    /^router queue for m\/1 is full: batch queue full \(100 rows waiting\)/,
  );
  assert.equal(code(batchErrorToRpc(new DeadlineExpiredError(5), "q")), "DeadlineExceeded");
  assert.equal(code(batchErrorToRpc(new RequestCancelledError(), "q")), "Canceled");
  const own = new ConnectError("no worker", Code.Unavailable);
  assert.equal(batchErrorToRpc(own, "q"), own);
  const plain = new Error("boom");
  assert.equal(batchErrorToRpc(plain, "q"), plain);
});

test("a full queue carries the retry detail made from its retry hint, when asked for", () => {
  const asked: number[] = [];
  const full = batchErrorToRpc(new QueueFullError(10, 42), "model m version 1 is overloaded", (ms) => {
    asked.push(ms);
    return { type: "google.rpc.RetryInfo", value: new Uint8Array([1]) };
  }) as ConnectError;
  assert.deepEqual(asked, [42]);
  assert.equal(full.details.length, 1);
  assert.equal((full.details[0] as { type: string }).type, "google.rpc.RetryInfo");
  assert.equal((batchErrorToRpc(new QueueFullError(10, 42), "q") as ConnectError).details.length, 0);
});
