import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { DecisionRecordSchema } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { DecidedRow, RouteOutcome } from "./row-decisions.js";

/** What every record of one Route call shares. */
export interface RouteCall {
  /** The call's own trace, for rows that carry none. */
  traceId: string;
  featureSpecHash: string;
  latencyMs: number;
  decidedAt: Timestamp;
}

/** The monitor's record of each decision of one Route call (the audit trail and the drift statistics read them). */
export function decisionRecords(
  decided: readonly DecidedRow[],
  o: RouteOutcome,
  call: RouteCall,
  segmentRule = "",
): MessageInitShape<typeof DecisionRecordSchema>[] {
  return decided.map(({ row, score, decision, reasons }) => ({
    requestId: row.requestId,
    // Rows of concurrent public calls share a Route call: each keeps the trace of its own call.
    traceId: row.traceId || call.traceId,
    model: o.model,
    modelVersion: o.version,
    score,
    decision,
    route: o.route,
    degraded: o.degraded,
    latencyMs: call.latencyMs,
    decidedAt: call.decidedAt,
    imputed: row.imputed,
    segment: row.segment,
    featureSpecHash: call.featureSpecHash,
    reasons,
    tenantId: row.tenantId,
    segmentRule,
    // The non-sensitive inputs for per-input drift: the feature service's encoded audit map, copied as bytes.
    inputs: row.replay?.inputs,
  }));
}
