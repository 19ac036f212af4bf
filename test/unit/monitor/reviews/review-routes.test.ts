import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import type { JetStreamClient } from "nats";
import pino from "pino";
import {
  MonitorService,
  ReviewAction_Kind,
  ReviewActionSchema,
  ReviewStatus,
  type ReviewCase,
} from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision, Route } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { operatorSigner, type Signer } from "../../../../services/lib/nats/index.js";
import { nkeys } from "../../../../services/lib/nats/nkeys.js";
import { DecisionMetrics } from "../../../../services/monitor/metrics.js";
import { ReviewQueue } from "../../../../services/monitor/review-queue.js";
import { signAction } from "../../../../services/monitor/reviews/action-signing.js";
import { ReviewDesk } from "../../../../services/monitor/reviews/review-desk.js";
import type { ReviewStore } from "../../../../services/monitor/reviews/review-store.js";
import { caseIdOf } from "../../../../services/monitor/reviews/workflow.js";
import { monitorRoutes } from "../../../../services/monitor/routes.js";
import { DecisionStats } from "../../../../services/monitor/stats.js";
import { inProcessClient, rejectionOf } from "../../../support/in-process.js";

/** The review bucket's semantics in memory: create fails on an existing key, update on a moved revision. */
class MemoryStore {
  readonly cases = new Map<string, { c: ReviewCase; revision: number }>();
  private rev = 0;
  create(c: ReviewCase) {
    if (this.cases.has(c.caseId)) return Promise.resolve(false);
    this.cases.set(c.caseId, { c, revision: ++this.rev });
    return Promise.resolve(true);
  }
  get(id: string) {
    return Promise.resolve(this.cases.get(id));
  }
  update(c: ReviewCase, revision: number) {
    if (this.cases.get(c.caseId)?.revision !== revision) return Promise.resolve(false);
    this.cases.set(c.caseId, { c, revision: ++this.rev });
    return Promise.resolve(true);
  }
  list() {
    return Promise.resolve([...this.cases.values()].map((s) => s.c));
  }
}

const ana = operatorSigner(nkeys.createOperator().getSeed());
const bo = operatorSigner(nkeys.createOperator().getSeed());
const trusted = new Map([
  [ana.publicKey, "ana"],
  [bo.publicKey, "bo"],
]);

function monitor() {
  const store = new MemoryStore();
  const published: string[] = [];
  const js = { publish: (subject: string) => Promise.resolve(published.push(subject)) } as unknown as JetStreamClient;
  const desk = new ReviewDesk(trusted, pino({ level: "silent" }));
  desk.attach(store as unknown as ReviewStore, js);
  const parts = { stats: new DecisionStats(), metrics: new DecisionMetrics(), reviews: new ReviewQueue(), desk };
  return { client: inProcessClient(MonitorService, monitorRoutes(parts)), store, published };
}

const action = (
  who: Signer,
  kind: ReviewAction_Kind,
  caseId: string,
  decision = Decision.UNSPECIFIED,
  at = Date.now(),
) => signAction(create(ReviewActionSchema, { kind, caseId, decision, note: "ok", at: timestampFromMs(at) }), who);

test("Record opens a durable case per REVIEW decision; ListReviews lists open ones with the decision", async () => {
  const { client, store } = monitor();
  const rec = (id: string, decision: Decision) => ({
    requestId: id,
    tenantId: "t",
    model: "m",
    decision,
    route: Route.PRIMARY,
  });
  await client.record({ records: [rec("a", Decision.REVIEW), rec("b", Decision.APPROVE), rec("a", Decision.REVIEW)] });
  assert.deepEqual([...store.cases.keys()], [caseIdOf("t", "a")], "once, and only the review");
  const list = await client.listReviews({});
  assert.deepEqual(
    list.reviewCases.map((c) => [c.caseId, c.status, c.decision?.requestId]),
    [[caseIdOf("t", "a"), ReviewStatus.OPEN, "a"]],
  );
});

test("ClaimReview / ResolveReview: the workflow rules as gRPC codes, one audit write per resolution", async () => {
  const { client, published } = monitor();
  await client.record({ records: [{ requestId: "a", tenantId: "t", model: "m", decision: Decision.REVIEW }] });
  const id = caseIdOf("t", "a");
  const claimed = await client.claimReview({ signedAction: action(ana, ReviewAction_Kind.CLAIM, id) });
  assert.deepEqual([claimed.reviewCase?.status, claimed.reviewCase?.reviewer], [ReviewStatus.CLAIMED, "ana"]);
  const byBo = await rejectionOf(
    client.resolveReview({ signedAction: action(bo, ReviewAction_Kind.RESOLVE, id, Decision.APPROVE) }),
  );
  assert.deepEqual([byBo.code, byBo.rawMessage], [Code.FailedPrecondition, `case ${id} is claimed by ana, not by bo`]);
  const wrongKind = await rejectionOf(client.resolveReview({ signedAction: action(ana, ReviewAction_Kind.CLAIM, id) }));
  assert.equal(wrongKind.code, Code.InvalidArgument);
  const stale = action(ana, ReviewAction_Kind.RESOLVE, id, Decision.APPROVE, Date.now() - 10 * 60_000);
  assert.equal((await rejectionOf(client.resolveReview({ signedAction: stale }))).code, Code.Unauthenticated);
  const done = await client.resolveReview({
    signedAction: action(ana, ReviewAction_Kind.RESOLVE, id, Decision.DECLINE),
  });
  assert.equal(done.reviewCase?.resolution, Decision.DECLINE);
  const twice = await rejectionOf(
    client.resolveReview({ signedAction: action(ana, ReviewAction_Kind.RESOLVE, id, Decision.DECLINE) }),
  );
  assert.equal(twice.code, Code.FailedPrecondition);
  assert.match(twice.rawMessage, /already resolved/);
  assert.deepEqual(published, ["scoremesh.audit-review.m"], "one audit write");
  const unknown = await rejectionOf(
    client.claimReview({ signedAction: action(ana, ReviewAction_Kind.CLAIM, "0".repeat(16)) }),
  );
  assert.equal(unknown.code, Code.NotFound);
  assert.deepEqual((await client.listReviews({})).reviewCases, [], "resolved cases leave the list");
  assert.equal((await client.listReviews({ includeResolved: true })).reviewCases.length, 1);
});
