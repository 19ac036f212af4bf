import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { NatsConnection } from "nats";
import pino from "pino";
import { ReviewResolutionSchema } from "../../gen/scoremesh/audit/v1/audit_pb.js";
import {
  DecisionRecordSchema,
  ReviewAction_Kind,
  ReviewActionSchema,
  ReviewStatus,
} from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { ensureAuditStream, FrameKind } from "../../services/lib/audit/index.js";
import type { Signer } from "../../services/lib/nats/index.js";
import { signAction } from "../../services/monitor/reviews/action-signing.js";
import { ReviewDesk } from "../../services/monitor/reviews/review-desk.js";
import { ReviewStore } from "../../services/monitor/reviews/review-store.js";
import { caseIdOf, WorkflowError } from "../../services/monitor/reviews/workflow.js";
import { readTrail } from "../../tools/meshctl/audit-read.js";
import { startKeyedNats, type KeyedNats } from "../support/nats-keys.js";

const log = pino({ level: "silent" });
const records = Array.from({ length: 40 }, (_, i) =>
  create(DecisionRecordSchema, {
    requestId: `r-${i}`,
    tenantId: "dev",
    model: "credit-default",
    modelVersion: "3",
    decision: i % 4 === 0 ? Decision.APPROVE : Decision.REVIEW,
    score: 0.4,
  }),
);
const reviewIds = records.filter((r) => r.decision === Decision.REVIEW).map((r) => caseIdOf("dev", r.requestId));

let dir: string;
let nats: KeyedNats;
const conns: NatsConnection[] = [];
let desks: ReviewDesk[];

async function desk(): Promise<ReviewDesk> {
  const nc = await nats.connectAs("monitor");
  conns.push(nc);
  const d = new ReviewDesk(nats.trusted, log);
  d.attach(await ReviewStore.open(nc), nc.jetstream());
  return d;
}

const act = (d: ReviewDesk, who: Signer, kind: ReviewAction_Kind, caseId: string, decision = Decision.UNSPECIFIED) =>
  d.act(
    signAction(
      create(ReviewActionSchema, { kind, caseId, decision, note: "checked", at: timestampFromMs(Date.now()) }),
      who,
    ),
    kind,
  );

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "scoremesh-reviews-"));
  nats = await startKeyedNats(dir);
  const control = await nats.connectAs("control");
  conns.push(control);
  await ensureAuditStream(await control.jetstreamManager());
  desks = [await desk(), await desk()];
});
after(async () => {
  for (const nc of conns) await nc.close();
  await nats?.server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("two monitor replicas offered the same batches keep each case once, none lost", async () => {
  await Promise.all([desks[0]!.offer(records), desks[1]!.offer(records), desks[0]!.offer(records.slice(5))]);
  const listed = await desks[1]!.list();
  assert.deepEqual(listed.map((c) => c.caseId).sort(), [...reviewIds].sort(), "every REVIEW once, no APPROVE");
  assert.ok(listed.every((c) => c.status === ReviewStatus.OPEN));
});

test("concurrent claims by two reviewers on two replicas: exactly one wins, the other is refused", async () => {
  for (const id of reviewIds.slice(0, 10)) {
    const results = await Promise.allSettled([
      act(desks[0]!, nats.operator, ReviewAction_Kind.CLAIM, id),
      act(desks[1]!, nats.launcher, ReviewAction_Kind.CLAIM, id),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 1, `case ${id}: one claim wins`);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.ok(lost.reason instanceof WorkflowError && lost.reason.code === "conflict", String(lost.reason));
  }
});

test("concurrent resolutions by the claimant on both replicas: one resolution, one audit message", async () => {
  const id = reviewIds[20]!;
  await act(desks[0]!, nats.operator, ReviewAction_Kind.CLAIM, id);
  const results = await Promise.allSettled([
    act(desks[0]!, nats.operator, ReviewAction_Kind.RESOLVE, id, Decision.APPROVE),
    act(desks[1]!, nats.operator, ReviewAction_Kind.RESOLVE, id, Decision.DECLINE),
  ]);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, "one resolution");
  const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
  assert.match(String(rejected.reason), /already resolved/);
  const control = conns[0]!;
  const { entries } = await readTrail(control);
  const resolutions = entries
    .filter((e) => e.kind === FrameKind.Review)
    .map((e) => fromBinary(ReviewResolutionSchema, e.bytes))
    .filter((r) => r.caseId === id);
  assert.equal(resolutions.length, 1, "one audit record");
  assert.equal(resolutions[0]!.reviewer, nats.keys.operatorName);
  assert.equal(resolutions[0]!.reviewerKey, nats.operator.publicKey);
});
