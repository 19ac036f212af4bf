import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { RouteRequest, RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { activeTraceId } from "../lib/rpc/index.js";
import { AuditUnavailableError, type AuditRecordInit } from "../lib/audit/index.js";
import { inRowOrder, splitByArm, type ArmRows } from "./route/arms.js";
import { auditRecords, openBreakers } from "./route/audit-records.js";
import { championFor, versionFor } from "./route/champion-card.js";
import { decisionRecords } from "./route/decision-records.js";
import { DegradedLog } from "./route/degraded-log.js";
import { featureMatrix } from "./route/feature-matrix.js";
import { lightFirst, type LightSplit } from "./route/light-first.js";
import { scoreByCascade, type Scored } from "./route/route-cascade.js";
import type { RouterDeps } from "./route/router-deps.js";
import { decideRows, outcomeOf, rowDecision } from "./route/row-decisions.js";

export type { RouterDeps } from "./route/router-deps.js";
export { RULES_VERSION } from "./route/row-decisions.js";

/**
 * The router's Route handler: the champion's card (refusing vectors of another feature spec), the rows split
 * between segment rules (first match wins), the canary by sticky assignment and the champion, and per arm: the rows packed into one matrix, the
 * cascade (version → fallback model → rules) within the deadline, a decision with reasons per row, the audit
 * record of each decision in the local spool before the answer (audit/), and a record of each decision for the
 * monitor, sent off the hot path; the champion's own answers offered to the shadow (which scores a sample after
 * the response is out). Each step is in route/.
 */
export function routerRoutes(deps: RouterDeps): Partial<ServiceImpl<typeof RouterService>> {
  const degradedLog = new DegradedLog(deps.log);
  const routeArm = async (req: RouteRequest, g: ArmRows, ctx: HandlerContext, started: number, pre?: LightScored) => {
    const sub: RouteRequest = { ...req, rows: g.rows };
    const served = versionFor(sub, pre?.version ?? g.version, deps);
    const matrix = featureMatrix(sub, served);
    const scored: Scored = pre
      ? { result: { route: Route.PRIMARY, version: pre.version, scores: pre.scores, errors: [] } }
      : await scoreByCascade(sub, ctx, served, matrix, deps);
    degradedLog.note(req.model, scored.result.route, scored.result.errors);
    const call = {
      latencyMs: performance.now() - started,
      traceId: activeTraceId(),
      decidedAt: timestampNow(),
      featureSpecHash: req.featureSpecHash,
      policyRevision: deps.policyRevision?.(req.model),
      reviewBand: deps.reviewBand,
    };
    const outcome = outcomeOf(req.model, scored, g.arm, deps.champions.standInFor?.(req.model) !== undefined);
    const decided = decideRows(g.rows, scored, served, outcome, deps);
    if (deps.audit) {
      const open = openBreakers(deps.breakers);
      recordOrRefuse(
        deps.audit,
        req.model,
        auditRecords(decided, outcome, call, scored, served, open, g.arm, g.segment),
      );
    }
    deps.monitor.enqueue(decisionRecords(decided, outcome, call, g.segment));
    if (g.arm === "champion" && !pre && outcome.route === Route.PRIMARY && !outcome.degraded)
      deps.shadow?.offer({
        model: req.model,
        version: served.version,
        featureSpecHash: req.featureSpecHash,
        matrix,
        decided,
      });
    return decided.map((d) => rowDecision(d, outcome));
  };
  return {
    async route(req, ctx) {
      const started = performance.now();
      const champion = championFor(req, deps);
      if (req.rows.length === 0) return { decisions: [] };
      const arms = splitByArm(req, champion.version, deps);
      if (!deps.lightFirst?.(req.model)) {
        const answers = await Promise.all(arms.map((g) => routeArm(req, g, ctx, started)));
        return { decisions: inRowOrder(arms, answers) };
      }
      const splits = await Promise.all(arms.map((g) => lightFirst(req, g, ctx, deps)));
      const groups = splits.flatMap((s) => [...(s.light ? [s.light.group] : []), ...(s.heavy ? [s.heavy] : [])]);
      const answers = await Promise.all(
        splits.flatMap((s) => [
          ...(s.light ? [routeArm(req, s.light.group, ctx, started, s.light)] : []),
          ...(s.heavy ? [routeArm(req, s.heavy, ctx, started)] : []),
        ]),
      );
      return { decisions: inRowOrder(groups, answers) };
    },
  };
}

/** The light model's scores of the rows it decided (the cascade's first step). */
type LightScored = NonNullable<LightSplit["light"]>;

/** Appends the call's audit records; a decision that cannot be recorded is not returned (UNAVAILABLE). */
function recordOrRefuse(audit: NonNullable<RouterDeps["audit"]>, model: string, records: AuditRecordInit[]): void {
  try {
    audit.record(model, records);
  } catch (err) {
    if (err instanceof AuditUnavailableError) throw new ConnectError(err.message, Code.Unavailable);
    throw err;
  }
}
