import { create, toBinary } from "@bufbuild/protobuf";
import type { JetStreamClient } from "nats";
import { ReviewResolutionSchema } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import type { ReviewCase } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { AUDIT_REVIEW_PREFIX, encodeFrame, FrameKind, subjectToken } from "../../lib/audit/index.js";

/** The layout of the ReviewResolution this build writes. */
export const REVIEW_RESOLUTION_SCHEMA = 1;

/**
 * Appends a resolved case to the audit stream as one ReviewResolution frame under
 * `scoremesh.audit-review.<model>`, with the publish id "review|<case id>" (a retried write is dropped by the
 * stream); resolves once the stream has acknowledged it.
 */
export async function writeResolution(js: JetStreamClient, c: ReviewCase, signedAction: string): Promise<void> {
  const d = c.decision!;
  const body = create(ReviewResolutionSchema, {
    schemaVersion: REVIEW_RESOLUTION_SCHEMA,
    requestId: d.requestId,
    tenantId: d.tenantId,
    model: d.model,
    modelVersion: d.modelVersion,
    caseId: c.caseId,
    originalDecision: d.decision,
    decision: c.resolution,
    note: c.note,
    reviewer: c.reviewer,
    reviewerKey: c.reviewerKey,
    claimedAt: c.claimedAt,
    resolvedAt: c.resolvedAt,
    signedAction,
  });
  const frame = encodeFrame(FrameKind.Review, toBinary(ReviewResolutionSchema, body));
  await js.publish(`${AUDIT_REVIEW_PREFIX}.${subjectToken(d.model)}`, frame, {
    msgID: `review|${c.caseId}`,
    timeout: 5000,
  });
}
