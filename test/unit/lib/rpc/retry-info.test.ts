import { test } from "node:test";
import assert from "node:assert/strict";
import { readRetryDelayMs, retryInfo, RETRY_INFO_TYPE } from "../../../../services/lib/rpc/index.js";

test("RetryInfo detail round-trips its delay", () => {
  const d = retryInfo(1234.5);
  assert.equal(d.type, RETRY_INFO_TYPE);
  assert.equal(readRetryDelayMs(d.value), 1234.5);
  assert.equal(readRetryDelayMs(retryInfo(3).value), 3);
});
