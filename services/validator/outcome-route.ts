import { Code, ConnectError, createClient, type Client, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Outcome, type ReportOutcomeRequest, type ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { invalidArgument, type FieldViolation } from "../lib/rpc/index.js";
import { validateId } from "./validation.js";

/** How far ahead of the validator's UTC day an observed_on may be (a caller a time zone ahead). */
const DAY_MS = 86_400_000;

/**
 * Every offending field of a ReportOutcome (request_id, outcome, observed_on), none when it is well formed.
 * `nowMs` bounds observed_on: not after tomorrow (UTC), not before 2000-01-01.
 */
export function outcomeViolations(req: ReportOutcomeRequest, nowMs: number): FieldViolation[] {
  const v: FieldViolation[] = [];
  if (req.requestId === "") v.push({ field: "request_id", reason: "REQUIRED", description: "is required" });
  else {
    const bad = validateId(req.requestId, "request_id");
    if (bad) v.push(bad);
  }
  if (req.outcome !== Outcome.REPAID && req.outcome !== Outcome.DEFAULTED)
    v.push({ field: "outcome", reason: "BAD_VALUE", description: "must be OUTCOME_REPAID or OUTCOME_DEFAULTED" });
  const day = /^\d{4}-\d{2}-\d{2}$/.test(req.observedOn) ? Date.parse(`${req.observedOn}T00:00:00Z`) : NaN;
  if (req.observedOn === "")
    v.push({ field: "observed_on", reason: "REQUIRED", description: "is required (YYYY-MM-DD)" });
  else if (Number.isNaN(day) || new Date(day).toISOString().slice(0, 10) !== req.observedOn)
    v.push({ field: "observed_on", reason: "BAD_FORMAT", description: "must be a date YYYY-MM-DD" });
  else if (day > nowMs + DAY_MS || day < Date.parse("2000-01-01T00:00:00Z"))
    v.push({ field: "observed_on", reason: "OUT_OF_RANGE", description: "must be between 2000-01-01 and today" });
  return v;
}

/**
 * ScoringService.ReportOutcome: authenticated by the tenant's API key (`identify`), validated, forwarded to the
 * monitor, which joins it to the tenant's own decision. Another tenant's request id is NOT_FOUND, as an unknown one.
 */
export function outcomeRoute(deps: {
  monitor: Client<typeof MonitorService>;
  identify?: (authorization: string | null) => string;
  timeoutMs: number;
  now?: () => number;
}): Partial<ServiceImpl<typeof ScoringService>> {
  return {
    async reportOutcome(req, ctx) {
      const tenantId = deps.identify?.(ctx.requestHeader.get("authorization")) ?? "";
      const violations = outcomeViolations(req, (deps.now ?? Date.now)());
      if (violations.length > 0) throw invalidArgument(violations);
      const r = await deps.monitor.recordOutcome(
        { tenantId, requestId: req.requestId, outcome: req.outcome, observedOn: req.observedOn },
        { timeoutMs: deps.timeoutMs, signal: ctx.signal },
      );
      return {
        requestId: req.requestId,
        outcome: req.outcome,
        observedOn: req.observedOn,
        model: r.model,
        modelVersion: r.modelVersion,
        decision: r.decision,
        duplicate: r.duplicate,
      };
    },
  };
}

/** ReportOutcome as the validator serves it: to the monitor at VALIDATOR_MONITOR_ADDR, or UNAVAILABLE without one. */
export function outcomeRoutes(
  config: { monitorAddr: string; defaultTimeoutMs: number },
  transport: Transport | undefined,
  guard: { tenantOf(authorization: string | null): string } | undefined,
): Partial<ServiceImpl<typeof ScoringService>> {
  if (!transport)
    return {
      reportOutcome() {
        throw new ConnectError("outcomes are not taken here (no VALIDATOR_MONITOR_ADDR)", Code.Unavailable);
      },
    };
  return outcomeRoute({
    monitor: createClient(MonitorService, transport),
    ...(guard ? { identify: guard.tenantOf.bind(guard) } : {}),
    timeoutMs: config.defaultTimeoutMs,
  });
}
