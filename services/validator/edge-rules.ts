import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import type { RowDecisionSchema } from "../../gen/scoremesh/decision/v1/decision_pb.js";
import type { ValidatedRowSchema } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { AuditUnavailableError, type AuditTrail } from "../lib/audit/index.js";
import { buildVector, decideDegraded, rulesBaselineFor, RULES_VERSION, type FeatureSpec } from "../lib/model/index.js";
import { edgeAuditRecords, edgeModel, grpcCodeName, type EdgeDecided, type EdgeModel } from "./edge-audit-records.js";

type RowInit = MessageInitShape<typeof ValidatedRowSchema>;
type DecisionInit = MessageInitShape<typeof RowDecisionSchema>;

/** The response header that says an answer was made by the edge's rules, and why. */
export const EDGE_RULES_HEADER = "scoremesh-degraded-reason";

export interface EdgeRulesOptions {
  /** A degraded decision within this of a threshold goes to review (the router's ROUTER_REVIEW_BAND). */
  reviewBand: number;
  /** Time kept back from the downstream call's deadline so the rules can still answer, ms. */
  reserveMs: number;
  log?: Logger;
  registry?: Registry;
  /**
   * The edge's own audit trail (VALIDATOR_AUDIT_*): each decision's record is spooled before the answer, and a
   * decision that cannot be recorded is not returned (UNAVAILABLE); absent: the decisions are not audited.
   */
  audit?: AuditTrail;
}

/**
 * The last step of the cascade, one tier up: when the downstream call (feature service, then routers) fails
 * with UNAVAILABLE or DEADLINE_EXCEEDED — no replica reachable, or every attempt failed — the edge decides the
 * rows by the same rules baseline the routers use (services/lib/model/rules-scorecard.ts): route RULES, version
 * "rules", degraded, the rules' thresholds, no reasons (as a router's rules decisions). The scorecard's four
 * features derive from request inputs only, so the vector the edge builds without entity features gives the
 * same score as the router's. A model without rules (late-payment) keeps the downstream error.
 *
 * Each such decision is in the audit trail like a router's (docs/audit.md): the edge appends its record to its own
 * spool, chained per (model, validator process), before it answers (edge-audit-records.ts), when VALIDATOR_AUDIT_*
 * configures a trail. They are counted (`scoremesh_edge_rules_decisions_total{model}`) and logged once per change
 * of state, not per call.
 */
export class EdgeRules {
  private readonly cards = new Map<string, EdgeModel>();
  private readonly counter: Counter<"model"> | undefined;
  /** Whether the last downstream call of a model failed over to the rules (for the once-per-change log). */
  private readonly active = new Set<string>();

  constructor(
    specs: ReadonlyMap<string, FeatureSpec>,
    private readonly opts: EdgeRulesOptions,
  ) {
    for (const [model, spec] of specs) {
      const card = rulesBaselineFor(spec);
      if (card) this.cards.set(model, edgeModel(spec, card));
    }
    this.counter = opts.registry
      ? new Counter({
          name: "scoremesh_edge_rules_decisions_total",
          help: "Rows the validator decided by the rules baseline because no feature or router replica answered.",
          labelNames: ["model"] as const,
          registers: [opts.registry],
        })
      : undefined;
  }

  /** The downstream call's deadline: the caller's remaining time less the rules' reserve, when the model has rules. */
  downstreamTimeoutMs(model: string, remainingMs: number): number {
    return this.cards.has(model) ? Math.max(1, remainingMs - this.opts.reserveMs) : remainingMs;
  }

  /** Whether `err` of the downstream call lets the edge answer `model`'s rows by the rules. */
  fallsBack(model: string, err: unknown, signal: AbortSignal): boolean {
    if (!this.cards.has(model) || signal.aborted) return false;
    const code = ConnectError.from(err).code;
    return code === Code.Unavailable || code === Code.DeadlineExceeded;
  }

  /**
   * The rules' decisions for the rows (same order), recorded in the edge's audit trail before they are returned;
   * logs once when a model starts being answered by the rules. Throws UNAVAILABLE when they cannot be recorded.
   */
  decide(model: string, rows: readonly RowInit[], err: unknown): DecisionInit[] {
    const m = this.cards.get(model)!;
    const code = ConnectError.from(err).code;
    this.logFailover(model, err);
    const decided: EdgeDecided[] = rows.map((row) => {
      const built = buildVector(m.spec, row.inputs ?? {});
      const score = m.card.score(built.vector).score;
      const decision = decideDegraded(score, m.card.thresholds(), this.opts.reviewBand);
      return { row, vector: built.vector, imputed: built.imputed, score, decision };
    });
    this.record(model, m, decided, grpcCodeName(code));
    this.counter?.inc({ model }, rows.length);
    return decided.map(({ row, score, decision, imputed }) => ({
      requestId: row.requestId ?? "",
      entityId: row.entityId ?? "",
      modelVersion: RULES_VERSION,
      score,
      decision,
      route: Route.RULES,
      degraded: true,
      reasons: [],
      imputedFeatures: [...imputed],
    }));
  }

  private record(model: string, m: EdgeModel, decided: EdgeDecided[], reason: string): void {
    const audit = this.opts.audit;
    if (!audit) return;
    const call = { decidedAt: timestampNow(), reason, reviewBand: this.opts.reviewBand };
    try {
      audit.record(model, edgeAuditRecords(m, decided, call));
    } catch (e) {
      if (e instanceof AuditUnavailableError) throw new ConnectError(e.message, Code.Unavailable);
      throw e;
    }
  }

  private logFailover(model: string, err: unknown): void {
    if (this.active.has(model)) return;
    this.active.add(model);
    const e = ConnectError.from(err);
    this.opts.log?.warn(
      { model, code: Code[e.code], detail: e.rawMessage, audited: this.opts.audit !== undefined },
      "no feature or router replica answered: the edge decides by the rules baseline (degraded)",
    );
  }

  /** A downstream call of `model` succeeded: the next failover is logged again. */
  recovered(model: string): void {
    if (this.active.delete(model))
      this.opts.log?.info({ model }, "the mesh answers again: the edge's rules stand down");
  }
}
