import { create } from "@bufbuild/protobuf";
import { timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { createHash } from "node:crypto";
import {
  DecisionRecordSchema,
  ReviewAction_Kind,
  ReviewCaseSchema,
  ReviewStatus,
  type DecisionRecord,
  type ReviewAction,
  type ReviewCase,
} from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";

/** Why an action on a case is refused; `code` says which gRPC status the monitor answers with. */
export class WorkflowError extends Error {
  override readonly name = "WorkflowError";
  constructor(
    readonly code: "not-found" | "conflict" | "invalid" | "unauthenticated" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

/** An identified reviewer: the operator's name in the trusted-operators file and its public key. */
export interface Reviewer {
  name: string;
  key: string;
}

/** The longest note a resolution may carry. */
export const NOTE_MAX = 2000;

/** A case's id: the first 16 hex digits of SHA-256("<tenant>\n<request id>") (request ids are per tenant). */
export function caseIdOf(tenantId: string, requestId: string): string {
  return createHash("sha256").update(`${tenantId}\n${requestId}`).digest("hex").slice(0, 16);
}

/** A new open case of a decision REVIEW, keeping only what a reviewer needs (no inputs, segments or latency). */
export function openCase(r: DecisionRecord, nowMs: number): ReviewCase {
  return create(ReviewCaseSchema, {
    caseId: caseIdOf(r.tenantId, r.requestId),
    status: ReviewStatus.OPEN,
    openedAt: timestampFromMs(nowMs),
    decision: create(DecisionRecordSchema, {
      requestId: r.requestId,
      traceId: r.traceId,
      tenantId: r.tenantId,
      model: r.model,
      modelVersion: r.modelVersion,
      score: r.score,
      decision: r.decision,
      route: r.route,
      degraded: r.degraded,
      reasons: r.reasons,
      decidedAt: r.decidedAt,
    }),
  });
}

/**
 * The case after `who` applies `action` to it at `nowMs`; throws a WorkflowError when the rules refuse it:
 * a resolved case takes no further action; a case claimed by another reviewer can be neither claimed nor
 * resolved; a case must be claimed before it is resolved; a resolution is APPROVE or DECLINE with a note.
 * Claiming a case one holds already returns it unchanged. Pure.
 */
export function applyAction(c: ReviewCase, action: ReviewAction, who: Reviewer, nowMs: number): ReviewCase {
  const id = c.caseId;
  if (c.status === ReviewStatus.RESOLVED)
    throw new WorkflowError(
      "conflict",
      `case ${id} is already resolved (${Decision[c.resolution]} by ${c.reviewer}); a resolution is final`,
    );
  if (c.status === ReviewStatus.CLAIMED && c.reviewerKey !== who.key)
    throw new WorkflowError("conflict", `case ${id} is claimed by ${c.reviewer}, not by ${who.name}`);
  if (action.kind === ReviewAction_Kind.CLAIM) {
    if (c.status === ReviewStatus.CLAIMED) return c;
    return { ...c, status: ReviewStatus.CLAIMED, reviewer: who.name, reviewerKey: who.key, claimedAt: ts(nowMs) };
  }
  if (action.kind !== ReviewAction_Kind.RESOLVE)
    throw new WorkflowError("invalid", "action.kind must be CLAIM or RESOLVE");
  if (c.status !== ReviewStatus.CLAIMED)
    throw new WorkflowError("conflict", `case ${id} is not claimed: claim it before resolving it`);
  checkResolution(action);
  return {
    ...c,
    status: ReviewStatus.RESOLVED,
    resolution: action.decision,
    note: action.note,
    resolvedAt: ts(nowMs),
  };
}

/** A resolution's fields: decision APPROVE or DECLINE, a note of 1..NOTE_MAX characters. */
export function checkResolution(action: ReviewAction): void {
  if (action.decision !== Decision.APPROVE && action.decision !== Decision.DECLINE)
    throw new WorkflowError("invalid", "decision must be APPROVE or DECLINE");
  if (action.note.trim().length === 0 || action.note.length > NOTE_MAX)
    throw new WorkflowError("invalid", `note must be 1-${NOTE_MAX} characters`);
}

function ts(ms: number): Timestamp {
  return timestampFromMs(ms);
}
