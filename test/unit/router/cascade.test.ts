import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { cascade, unanswered } from "../../../services/router/cascade.js";
import { BreakersOpenError } from "../../../services/router/workers/worker-call.js";
import { FakeClock } from "../../support/fake-clock.js";

const base = {
  primary: "3",
  fallback: "1",
  remainingMs: 1000,
  workerTimeoutMs: 800,
  rulesReserveMs: 20,
  clock: new FakeClock(),
};
const scores = new Float32Array([0.5]);

test("the champion answers: primary route, half of the budget at most", async () => {
  const asked: [string, number][] = [];
  const r = await cascade(base, async (v, t) => (asked.push([v, t]), scores));
  assert.equal(r.route, Route.PRIMARY);
  assert.deepEqual(asked, [["3", 490]]);
});

test("the champion fails → the fallback model with what is left; it fails too → rules", async () => {
  const clock = new FakeClock();
  const asked: [string, number][] = [];
  const r = await cascade({ ...base, clock }, async (v, t) => {
    asked.push([v, t]);
    if (v === "3") {
      clock.t += 490;
      throw new ConnectError("timed out", Code.DeadlineExceeded);
    }
    return scores;
  });
  assert.equal(r.route, Route.FALLBACK_MODEL);
  assert.deepEqual(asked, [
    ["3", 490],
    ["1", 490],
  ]);
  const rules = await cascade(base, async (v) => {
    throw v === "3" ? new BreakersOpenError("m", v) : new ConnectError("down", Code.Unavailable);
  });
  assert.equal(rules.route, Route.RULES);
  assert.deepEqual(
    rules.errors.map((e) => e.code),
    [Code.Unavailable, Code.Unavailable],
  );
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

test("a model without a rules baseline that no step answered: the last step's code, a message that says why", () => {
  const err = unanswered("late-payment", [
    new ConnectError("worker down", Code.Unavailable),
    new ConnectError("no ready worker for late-payment/1", Code.Unavailable),
  ]);
  assert.equal(err.code, Code.Unavailable);
  assert.match(
    err.rawMessage,
    /^no model of late-payment could answer and it has no rules baseline .*no ready worker for late-payment\/1/,
  );
  const late = unanswered("late-payment", []);
  assert.equal(late.code, Code.DeadlineExceeded);
  assert.match(late.rawMessage, /deadline left no time/);
});
