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
import type { RolloutStore, SharedWindow } from "../../../../services/lib/nats/index.js";
import { mergeWindows, SharedWindows } from "../../../../services/monitor/rollout/shared.js";
import { stepAction } from "../../../../services/monitor/rollout/step.js";
import { RolloutWindows, stepKeyOf, type StepWindow } from "../../../../services/monitor/rollout/windows.js";

const T0 = 1_700_000_000_000;

const policy = (stepIndex = 0) =>
  create(ServingPolicySchema, {
    model: "m",
    championVersion: "3",
    canary: create(CanarySchema, { version: "4", percent: [5, 25][stepIndex]! }),
    rollout: create(RolloutSchema, {
      version: "4",
      steps: [5, 25],
      stepIndex,
      holdDecisions: 300,
      state: RolloutState.RUNNING,
      stepStartedAt: timestampFromMs(T0),
    }),
  });

/** One replica's window of the step, fed `canary` canary and 5× as many champion records. */
function replica(canary: number, stepIndex = 0): StepWindow {
  const w = new RolloutWindows();
  const win = w.open(stepKeyOf(policy(stepIndex))!);
  for (let i = 0; i < canary * 6; i++) {
    const score = ((i * 37) % 100) / 100;
    w.add(
      create(DecisionRecordSchema, {
        model: "m",
        modelVersion: i % 6 ? "3" : "4",
        route: i % 6 ? Route.PRIMARY : Route.CANARY,
        score,
        decision: score < 0.3 ? Decision.APPROVE : score < 0.6 ? Decision.REVIEW : Decision.DECLINE,
        latencyMs: 4,
        decidedAt: timestampFromMs(T0 + 1),
      }),
    );
  }
  return win;
}

const shared = (holder: string, w: StepWindow): SharedWindow =>
  JSON.parse(
    JSON.stringify({
      holder,
      at: new Date(T0).toISOString(),
      key: w.key,
      champion: w.champion.snapshot(),
      canary: w.canary.snapshot(),
    }),
  ) as SharedWindow;

test("the step's window key comes from the running rollout; none once it ended", () => {
  assert.deepEqual(stepKeyOf(policy(1)), { model: "m", champion: "3", canary: "4", stepIndex: 1, since: T0 });
  const ended = policy();
  ended.rollout!.state = RolloutState.PROMOTED;
  assert.equal(stepKeyOf(ended), undefined);
});

test("the lease holder decides on every replica's records of the step: a holder without records of its own advances", () => {
  const own = replica(0); // the replica that took the lease over receives no records
  const fed = replica(320); // the one the routers send records to
  assert.equal(stepAction(policy().rollout!, own, T0).kind, "hold", "alone, its window never fills");
  const others = [shared("monitor-b", fed), shared("monitor-a", replica(500)), shared("monitor-c", replica(900, 1))];
  const w = mergeWindows(own, others, "monitor-a");
  assert.equal(w.canary.all.decisions, 320, "its own shared copy and another step's window are left out");
  assert.equal(w.champion.all.decisions, 1600);
  const a = stepAction(policy().rollout!, w, T0);
  assert.deepEqual([a.kind, a.kind === "advance" && a.percent], ["advance", 25]);
  assert.equal(own.canary.all.decisions, 0, "its own window is left alone");
});

test("a replica without records of a running step leaves the lease to one that published records of it lately", async () => {
  const fed = shared("monitor-b", replica(50));
  const store = (windows: SharedWindow[]) => ({ windows: () => Promise.resolve(windows) }) as unknown as RolloutStore;
  const at = (s: SharedWindow, ms: number) => ({ ...s, at: new Date(T0 + ms).toISOString() });
  const empty = replica(0);
  const now = T0 + 1000;
  assert.equal(await new SharedWindows(store([at(fed, 0)]), "monitor-a").yieldsTo([empty], 5000, now), true);
  assert.equal(
    await new SharedWindows(store([at(fed, -10_000)]), "monitor-a").yieldsTo([empty], 5000, now),
    false,
    "the other one stopped publishing (stopped, or away from NATS): the lease is for whoever takes it",
  );
  assert.equal(
    await new SharedWindows(store([at(fed, 0)]), "monitor-a").yieldsTo([replica(1)], 5000, now),
    false,
    "a replica with records of its own does not yield",
  );
  const otherStep = at(shared("monitor-b", replica(50, 1)), 0);
  assert.equal(await new SharedWindows(store([otherStep]), "monitor-a").yieldsTo([empty], 5000, now), false);
  assert.equal(await new SharedWindows(store([at(fed, 0)]), "monitor-b").yieldsTo([empty], 5000, now), false);
});

test("a replica writes its window only with new records, at most once per `everyMs`", async () => {
  const writes: number[] = [];
  const store = {
    putWindow: (_m: string, _h: string, w: SharedWindow) => (
      writes.push(w.canary.all.decisions),
      Promise.resolve(true)
    ),
  } as unknown as RolloutStore;
  const shared = new SharedWindows(store, "monitor-a", 1000);
  await shared.publish(replica(0), T0); // nothing to share
  await shared.publish(replica(5), T0);
  await shared.publish(replica(5), T0 + 2000); // nothing new
  await shared.publish(replica(6), T0 + 2500);
  await shared.publish(replica(7), T0 + 3000); // too soon
  await shared.publish(replica(7), T0 + 3600);
  assert.deepEqual(writes, [5, 6, 7]);
});
