import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { Assignment } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { AuditRecordInit } from "../../lib/audit/index.js";
import type { BreakerBoard } from "../breakers/breakers.js";
import type { Arm } from "./arms.js";
import type { Champion } from "./champion-card.js";
import type { Scored } from "./route-cascade.js";
import type { DecidedRow, RouteOutcome } from "./row-decisions.js";

/** The audit assignment of each arm. */
const ASSIGNMENTS: Record<Arm, Assignment> = {
  champion: Assignment.CHAMPION,
  canary: Assignment.CANARY,
  segment: Assignment.SEGMENT,
};

/** What the audit records of one Route call share. */
export interface AuditCall {
  traceId: string;
  featureSpecHash: string;
  decidedAt: Timestamp;
  /** The KV revision of the model's serving policy the router last took in; 0n: none. */
  policyRevision?: bigint;
  /** The low-confidence band degraded decisions were made with (ROUTER_REVIEW_BAND). */
  reviewBand?: number;
}

/** The thresholds the decisions were made with: the rules' own, or the card of the version that scored. */
function thresholdsOf(scored: Scored, champion: Champion) {
  if (scored.result.route === Route.RULES) return scored.rules!.thresholds();
  return (scored.result.route === Route.FALLBACK_MODEL ? scored.fallbackCard! : champion.card).thresholds;
}

/** Breakers open now ("address|model|version"). */
export function openBreakers(breakers: BreakerBoard | undefined): string[] {
  if (!breakers) return [];
  return Object.entries(breakers.states())
    .filter(([, s]) => s === "OPEN")
    .map(([k]) => k);
}

/**
 * The audit record of each decision of one Route call (docs/audit.md), with what a replay needs: the validated
 * inputs and entity features the feature service passed on (FeatureRow.replay), the vector, the explain flag and
 * the review band of a degraded decision.
 */
export function auditRecords(
  decided: readonly DecidedRow[],
  o: RouteOutcome,
  call: AuditCall,
  scored: Scored,
  champion: Champion,
  open: string[],
  arm: Arm = "champion",
  segmentRule = "",
): AuditRecordInit[] {
  const t = thresholdsOf(scored, champion);
  const reviewBand = o.degraded ? (call.reviewBand ?? 0) : 0;
  return decided.map(({ row, score, decision, reasons }) => ({
    requestId: row.requestId,
    tenantId: row.tenantId,
    traceId: row.traceId || call.traceId,
    decidedAt: call.decidedAt,
    modelVersion: o.version,
    featureSpecHash: call.featureSpecHash,
    policyRevision: call.policyRevision ?? 0n,
    assignment: ASSIGNMENTS[arm],
    segmentRule,
    labels: row.labels,
    segment: row.segment,
    inputs: row.replay?.inputs,
    entityId: row.entityId,
    entitySnapshotId: row.entitySnapshotId,
    imputed: row.imputed,
    vector: row.features,
    route: o.route,
    degraded: o.degraded,
    openBreakers: open,
    score,
    thresholds: { review: t.review, decline: t.decline },
    decision,
    reasons,
    entityFeatures: row.replay?.entity,
    explain: row.explain,
    reviewBand,
  }));
}
