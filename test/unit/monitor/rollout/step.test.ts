import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DecisionRecordSchema } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import {
  CanarySchema,
  RolloutSchema,
  RolloutState,
  ServingPolicySchema,
} from "../../../../gen/scoremesh/policy/v1/policy_pb.js";
import { Decision, Route } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { decodePolicy, encodePolicy, KvValueError } from "../../../../services/lib/nats/index.js";
import { afterAction } from "../../../../services/monitor/rollout/apply.js";
import { stepAction, thresholdsOf } from "../../../../services/monitor/rollout/step.js";
import { RolloutWindows } from "../../../../services/monitor/rollout/windows.js";

const T0 = 1_700_000_000_000;

function policy(stepIndex = 0) {
  return create(ServingPolicySchema, {
    model: "m",
    championVersion: "3",
    canary: create(CanarySchema, { version: "4", percent: [5, 25, 50, 100][stepIndex]! }),
    rollout: create(RolloutSchema, {
      version: "4",
      steps: [5, 25, 50, 100],
      stepIndex,
      holdDecisions: 300,
      state: RolloutState.RUNNING,
      stepStartedAt: timestampFromMs(T0),
    }),
  });
}

function feed(w: RolloutWindows, n: number, route: Route, version: string, score: (i: number) => number, at = T0) {
  for (let i = 0; i < n; i++) {
    const s = score(i);
    const decision = s < 0.3 ? Decision.APPROVE : s < 0.6 ? Decision.REVIEW : Decision.DECLINE;
    w.add(
      create(DecisionRecordSchema, {
        model: "m",
        modelVersion: version,
        route,
        score: s,
        decision,
        latencyMs: 4,
        decidedAt: timestampFromMs(at),
      }),
    );
  }
}

const spread = (i: number) => ((i * 37) % 100) / 100;
const key = (stepIndex = 0) => ({ model: "m", champion: "3", canary: "4", stepIndex, since: T0 });

test("a hold by decisions: hold until 300 canary decisions, then advance to the next step's percent", () => {
  const w = new RolloutWindows();
  const win = w.open(key());
  feed(w, 2000, Route.PRIMARY, "3", spread);
  feed(w, 250, Route.CANARY, "4", spread);
  feed(w, 500, Route.CANARY, "4", spread, T0 - 1); // before the step: not counted
  feed(w, 500, Route.CANARY, "9", spread); // another version: not counted
  assert.equal(stepAction(policy().rollout!, win, T0).kind, "hold");
  feed(w, 50, Route.CANARY, "4", spread);
  const a = stepAction(policy().rollout!, win, T0);
  assert.deepEqual([a.kind, a.kind === "advance" && a.percent], ["advance", 25]);
  const next = afterAction(policy(), a as Exclude<typeof a, { kind: "hold" }>);
  assert.equal(next.canary?.percent, 25);
  assert.equal(next.rollout?.stepIndex, 1);
});

test("a breach rolls back at once, mid-hold, naming the check; the last step promotes", () => {
  const w = new RolloutWindows();
  const win = w.open(key());
  feed(w, 2000, Route.PRIMARY, "3", spread);
  feed(w, 200, Route.CANARY, "4", (i) => 1 - spread(i) * 0.5);
  const a = stepAction(policy().rollout!, win, T0);
  assert.equal(a.kind, "rollback");
  assert.match(a.kind === "rollback" ? a.reason : "", /approve_rate/);
  const rolled = afterAction(policy(), a);
  assert.equal(rolled.canary, undefined);
  assert.equal(rolled.championVersion, "3");
  assert.equal(rolled.rollout?.state, RolloutState.ROLLED_BACK);
  const last = w.open(key(3));
  feed(w, 300, Route.CANARY, "4", spread);
  const p = stepAction(policy(3).rollout!, last, T0);
  assert.equal(p.kind, "promote");
  const promoted = afterAction(policy(3), p);
  assert.deepEqual([promoted.championVersion, promoted.canary, promoted.rollout?.state], ["4", undefined, 2]);
});

test("thresholds: unset fields take the defaults; a running rollout needs its canary", () => {
  assert.equal(thresholdsOf(undefined).minSample, 200);
  assert.equal(thresholdsOf({ minSample: 50 } as never).minSample, 50);
  const p = policy();
  assert.equal(decodePolicy(encodePolicy(p)).rollout?.stepIndex, 0);
  p.canary = undefined;
  assert.throws(
    () => decodePolicy(encodePolicy(p)),
    (e: Error) => e instanceof KvValueError && /rollout/.test(e.message),
  );
  const q = policy();
  q.rollout!.steps = [50, 25];
  assert.throws(() => decodePolicy(encodePolicy(q)), /rollout.steps must increase/);
});
