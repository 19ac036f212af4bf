import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { cascade } from "../../../services/router/cascade.js";
import { BreakersOpenError } from "../../../services/router/workers/worker-call.js";

const base = { primary: "3", fallback: "1", remainingMs: 1000, workerTimeoutMs: 800, rulesReserveMs: 20, now: () => 0 };
const scores = new Float32Array([0.5]);

test("the champion answers: primary route, half of the budget at most", async () => {
  const asked: [string, number][] = [];
  const r = await cascade(base, async (v, t) => (asked.push([v, t]), scores));
  assert.equal(r.route, Route.PRIMARY);
  assert.deepEqual(asked, [["3", 490]]);
});

test("the champion fails → the fallback model with what is left; it fails too → rules", async () => {
  let now = 0;
  const asked: [string, number][] = [];
  const r = await cascade({ ...base, now: () => now }, async (v, t) => {
    asked.push([v, t]);
    if (v === "3") {
      now += 490;
      throw new ConnectError("timed out", Code.DeadlineExceeded);
    }
    return scores;
  });
  assert.equal(r.route, Route.FALLBACK_MODEL);
  assert.deepEqual(asked, [["3", 490], ["1", 490]]);
  const rules = await cascade(base, async (v) => {
    throw v === "3" ? new BreakersOpenError("m", v) : new ConnectError("down", Code.Unavailable);
  });
  assert.equal(rules.route, Route.RULES);
  assert.deepEqual(rules.errors.map((e) => e.code), [Code.Unavailable, Code.Unavailable]);
});

test("no fallback model (none configured, or it is the champion): champion then rules, with the whole budget", async () => {
  const asked: number[] = [];
  const r = await cascade({ ...base, fallback: "3" }, async (_v, t) => {
    asked.push(t);
    throw new ConnectError("down", Code.Unavailable);
  });
  assert.equal(r.route, Route.RULES);
  assert.deepEqual(asked, [800]);
});

test("a caller that has gone gets the error, not a rules decision", async () => {
  const ac = new AbortController();
  await assert.rejects(
    cascade({ ...base, signal: ac.signal }, async () => {
      ac.abort();
      throw new ConnectError("cancelled", Code.Canceled);
    }),
    /cancelled/,
  );
});
