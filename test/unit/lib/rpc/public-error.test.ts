import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { publicError, retryInfo } from "../../../../services/lib/rpc/index.js";

test("a downstream transport error keeps its code, loses its address; the detail is returned for the log", () => {
  const raw = "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:50061. Resolution note: ";
  const { error, hidden } = publicError(new ConnectError(raw, Code.Unavailable));
  assert.equal(error.code, Code.Unavailable);
  assert.equal(error.rawMessage, "the scoring service is unavailable; retry later");
  assert.equal(hidden, raw);
  const late = publicError(
    new ConnectError("Deadline exceeded after 1.998s,remote_addr=[::1]:50061", Code.DeadlineExceeded),
  );
  assert.equal(late.error.rawMessage, "the deadline passed before the scoring service answered");
});

test("an error our services raise on purpose passes unchanged, details included", () => {
  const own = new ConnectError("no model of late-payment could answer and it has no rules baseline", Code.Unavailable);
  own.details.push(retryInfo(100));
  assert.equal(publicError(own).error, own);
  assert.equal(publicError(own).hidden, undefined);
});

test("an error that is not a ConnectError becomes INTERNAL without its message or stack", () => {
  const { error, hidden } = publicError(new TypeError("cannot read properties of undefined (reading 'x')"));
  assert.equal(error.code, Code.Internal);
  assert.equal(error.rawMessage, "internal error in the scoring service");
  assert.match(hidden!, /TypeError: cannot read/);
});

test("an error of ours whose cause names an address keeps what it says and loses the cause", () => {
  const raw =
    "no model of late-payment could answer and it has no rules baseline to fall back on (UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:50081)";
  const { error, hidden } = publicError(new ConnectError(raw, Code.Unavailable));
  assert.equal(error.code, Code.Unavailable);
  assert.equal(
    error.rawMessage,
    "no model of late-payment could answer and it has no rules baseline to fall back on (detail in the service's log)",
  );
  assert.equal(hidden, raw);
  const transport = publicError(new ConnectError("connect ECONNREFUSED 127.0.0.1:50061 (retrying)", Code.Unavailable));
  assert.equal(
    transport.error.rawMessage,
    "the scoring service is unavailable; retry later",
    "a leaking own part is not kept",
  );
});
