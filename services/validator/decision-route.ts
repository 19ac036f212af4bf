import { Code, ConnectError, createClient, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { MonitorService, type DecisionOutcome } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { GetDecisionRecordRequest, ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { invalidArgument, type FieldViolation } from "../lib/rpc/index.js";
import { validateId } from "./validation.js";

/** Every offending field of a GetDecisionRecord (request_id), none when it is well formed. */
export function decisionRecordViolations(req: GetDecisionRecordRequest): FieldViolation[] {
  if (req.requestId === "") return [{ field: "request_id", reason: "REQUIRED", description: "is required" }];
  const bad = validateId(req.requestId, "request_id");
  return bad ? [bad] : [];
}

/** What the tenant sees of its kept decision: no tenant id (it is the caller's), no inputs or segments. */
export function tenantView(d: DecisionOutcome) {
  return {
    requestId: d.requestId,
    traceId: d.traceId,
    model: d.model,
    modelVersion: d.modelVersion,
    score: d.score,
    decision: d.decision,
    reasons: d.reasons,
    route: d.route,
    degraded: d.degraded,
    decidedAt: d.decidedAt,
    outcome: d.outcome,
    observedOn: d.observedOn,
  };
}

/**
 * ScoringService.GetDecisionRecord, as the validator serves it: the tenant is the one its API key authenticates
 * (`guard.tenantOf`; no model, rate or quota), and the monitor (VALIDATOR_MONITOR_ADDR, mutual TLS) looks the
 * decision up under that tenant's key, so another tenant's request id is NOT_FOUND, as an unknown one. Without a
 * monitor address: UNAVAILABLE.
 */
export function decisionRoutes(
  config: { defaultTimeoutMs: number },
  transport: Transport | undefined,
  guard: { tenantOf(authorization: string | null): string } | undefined,
): Partial<ServiceImpl<typeof ScoringService>> {
  const monitor = transport ? createClient(MonitorService, transport) : undefined;
  return {
    async getDecisionRecord(req, ctx) {
      const tenantId = guard?.tenantOf(ctx.requestHeader.get("authorization")) ?? "";
      const violations = decisionRecordViolations(req);
      if (violations.length > 0) throw invalidArgument(violations);
      if (!monitor)
        throw new ConnectError("decision records are not served here (no VALIDATOR_MONITOR_ADDR)", Code.Unavailable);
      const r = await monitor.getDecision(
        { tenantId, requestId: req.requestId },
        { timeoutMs: config.defaultTimeoutMs, signal: ctx.signal },
      );
      if (!r.decision) throw new ConnectError(`no decision of request ${JSON.stringify(req.requestId)}`, Code.NotFound);
      return tenantView(r.decision);
    },
  };
}
