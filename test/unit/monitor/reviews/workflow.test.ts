import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  DecisionRecordSchema,
  ReviewAction_Kind,
  ReviewActionSchema,
  ReviewStatus,
} from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { operatorSigner } from "../../../../services/lib/nats/index.js";
import { nkeys } from "../../../../services/lib/nats/nkeys.js";
import { signAction, verifyAction } from "../../../../services/monitor/reviews/action-signing.js";
import {
  applyAction,
  caseIdOf,
  openCase,
  WorkflowError,
  type Reviewer,
} from "../../../../services/monitor/reviews/workflow.js";

const NOW = Date.parse("2026-11-30T12:00:00Z");
const ana: Reviewer = { name: "ana", key: "OANA" };
const bo: Reviewer = { name: "bo", key: "OBO" };
const record = create(DecisionRecordSchema, {
  requestId: "r-1",
  tenantId: "payments",
  model: "credit-default",
  modelVersion: "3",
  decision: Decision.REVIEW,
  score: 0.41,
  latencyMs: 7,
  segment: { sex: "2" },
});
const claim = create(ReviewActionSchema, { kind: ReviewAction_Kind.CLAIM });
const resolve = (decision: Decision, note = "income verified") =>
  create(ReviewActionSchema, { kind: ReviewAction_Kind.RESOLVE, decision, note });

const refused = (fn: () => unknown, code: WorkflowError["code"], message: RegExp) =>
  assert.throws(fn, (err: unknown) => err instanceof WorkflowError && err.code === code && message.test(err.message));

test("a case id is per tenant and request; an open case keeps no segments or latency", () => {
  assert.match(caseIdOf("payments", "r-1"), /^[0-9a-f]{16}$/);
  assert.notEqual(caseIdOf("payments", "r-1"), caseIdOf("other", "r-1"));
  const c = openCase(record, NOW);
  assert.equal(c.status, ReviewStatus.OPEN);
  assert.equal(c.caseId, caseIdOf("payments", "r-1"));
  assert.deepEqual([c.decision?.segment, c.decision?.latencyMs, c.decision?.tenantId], [{}, 0, "payments"]);
});

test("claim then resolve by the same reviewer; a second claim by them is a no-op", () => {
  const open = openCase(record, NOW);
  const claimed = applyAction(open, claim, ana, NOW + 1000);
  assert.deepEqual([claimed.status, claimed.reviewer, claimed.reviewerKey], [ReviewStatus.CLAIMED, "ana", "OANA"]);
  assert.equal(applyAction(claimed, claim, ana, NOW + 2000), claimed, "unchanged");
  const done = applyAction(claimed, resolve(Decision.DECLINE, "bank statements disagree"), ana, NOW + 3000);
  assert.deepEqual(
    [done.status, done.resolution, done.note, done.reviewer],
    [ReviewStatus.RESOLVED, Decision.DECLINE, "bank statements disagree", "ana"],
  );
});

test("the rules refuse: another's claim, resolving unclaimed, resolving twice, bad resolutions", () => {
  const open = openCase(record, NOW);
  const claimed = applyAction(open, claim, ana, NOW);
  refused(() => applyAction(claimed, claim, bo, NOW), "conflict", /claimed by ana, not by bo/);
  refused(() => applyAction(claimed, resolve(Decision.APPROVE), bo, NOW), "conflict", /claimed by ana/);
  refused(() => applyAction(open, resolve(Decision.APPROVE), ana, NOW), "conflict", /not claimed/);
  const done = applyAction(claimed, resolve(Decision.APPROVE), ana, NOW);
  refused(
    () => applyAction(done, resolve(Decision.APPROVE), ana, NOW),
    "conflict",
    /already resolved \(APPROVE by ana\)/,
  );
  refused(() => applyAction(done, claim, bo, NOW), "conflict", /already resolved/);
  refused(
    () => applyAction(claimed, resolve(Decision.REVIEW), ana, NOW),
    "invalid",
    /decision must be APPROVE or DECLINE/,
  );
  refused(() => applyAction(claimed, resolve(Decision.APPROVE, "  "), ana, NOW), "invalid", /note must be/);
  refused(() => applyAction(claimed, resolve(Decision.APPROVE, "x".repeat(2001)), ana, NOW), "invalid", /note/);
});

test("signed actions: the trusted signer is the reviewer; others, altered or stale actions are refused", () => {
  const kp = nkeys.createOperator();
  const signer = operatorSigner(kp.getSeed());
  const stranger = operatorSigner(nkeys.createOperator().getSeed());
  const trusted = new Map([[signer.publicKey, "ana"]]);
  const action = create(ReviewActionSchema, {
    kind: ReviewAction_Kind.CLAIM,
    caseId: "00112233aabbccdd",
    at: timestampFromMs(NOW),
  });
  const ok = verifyAction(signAction(action, signer), trusted, NOW + 60_000);
  assert.deepEqual(ok.reviewer, { name: "ana", key: signer.publicKey });
  assert.equal(ok.action.caseId, "00112233aabbccdd");
  refused(() => verifyAction(signAction(action, stranger), trusted, NOW), "unauthenticated", /not a trusted operator/);
  const altered = signAction(action, signer).replace("00112233aabbccdd", "00112233aabbccde");
  refused(() => verifyAction(altered, trusted, NOW), "unauthenticated", /does not match/);
  refused(() => verifyAction(signAction(action, signer), trusted, NOW + 6 * 60_000), "unauthenticated", /5 minutes/);
  refused(() => verifyAction("{}", trusted, NOW), "invalid", /signed_action/);
});
