import { test } from "node:test";
import assert from "node:assert/strict";
import { RestartBackoff } from "../../../../deploy/local/restart-backoff.js";

test("a process that keeps crashing soon after start waits 0.5 s, then twice as long each time, up to 10 s", () => {
  const b = new RestartBackoff();
  assert.deepEqual(
    Array.from({ length: 8 }, () => b.next(1000)),
    [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000],
  );
});

test("a process that ran for a while before it crashed is restarted after 0.5 s again", () => {
  const b = new RestartBackoff({ resetAfterMs: 30_000 });
  for (let i = 0; i < 5; i++) b.next(100);
  assert.equal(b.next(29_999), 10_000, "not up long enough");
  assert.equal(b.next(30_000), 500);
  assert.equal(b.next(100), 1000);
});
