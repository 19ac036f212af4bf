import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RowDecisionSchema } from "../../../gen/scoremesh/decision/v1/decision_pb.js";
import type { FeatureRow } from "../../../gen/scoremesh/router/v1/router_pb.js";
import { type Decision, Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { decide, decideDegraded, RULES_VERSION, type ModelCard } from "../../lib/model/index.js";
import type { ReasonCode } from "../explain/reasons.js";
import type { Arm } from "./arms.js";
import type { Champion } from "./champion-card.js";
import type { Scored } from "./route-cascade.js";
import type { RouterDeps } from "./router-deps.js";

export { RULES_VERSION } from "../../lib/model/index.js";

/** Which step of the cascade answered a Route call, as its decisions and records report it. */
export interface RouteOutcome {
  model: string;
  /** The model version that scored, or RULES_VERSION. */
  version: string;
  route: Route;
  /** Not the champion: decisions near a threshold go to review. */
  degraded: boolean;
}

/** One row's decision, with the reasons for it. */
export interface DecidedRow {
  row: FeatureRow;
  score: number;
  decision: Decision;
  reasons: ReasonCode[];
}

/**
 * The outcome of a Route call's rows on one arm: a canary's own answer reports route CANARY; a stand-in's answer
 * (the policy's champion cannot serve: `standIn`) is degraded.
 */
export function outcomeOf(model: string, { result }: Scored, arm: Arm = "champion", standIn = false): RouteOutcome {
  const version = result.route === Route.RULES ? RULES_VERSION : result.version;
  const primary = result.route === Route.PRIMARY;
  return {
    model,
    version,
    route: primary && arm === "canary" ? Route.CANARY : result.route,
    degraded: !primary || (standIn && arm === "champion"),
  };
}

/**
 * Turns the cascade's scores into decisions with the thresholds of the card that scored (the rules' own when
 * the rules did); a degraded decision near a threshold goes to review. Model decisions carry reasons, rules
 * decisions none.
 */
export function decideRows(
  rows: readonly FeatureRow[],
  scored: Scored,
  champion: Champion,
  outcome: RouteOutcome,
  deps: Pick<RouterDeps, "reasons" | "reviewBand">,
): DecidedRow[] {
  const band = deps.reviewBand ?? 0;
  const { result, rules } = scored;
  if (result.route === Route.RULES) {
    return rows.map((row) => {
      const score = rules!.score(row.features).score;
      return { row, score, decision: decideDegraded(score, rules!.thresholds(), band), reasons: [] };
    });
  }
  const card: ModelCard = result.route === Route.FALLBACK_MODEL ? scored.fallbackCard! : champion.card;
  return rows.map((row, i) => {
    const score = result.scores[i]!;
    const decision = outcome.degraded ? decideDegraded(score, card.thresholds, band) : decide(score, card.thresholds);
    const reasons =
      deps.reasons?.forRow(outcome.model, outcome.version, card, row.features, decision, row.explain) ?? [];
    return { row, score, decision, reasons };
  });
}

/** The response's decision for one row. */
export function rowDecision(
  { row, score, decision, reasons }: DecidedRow,
  o: RouteOutcome,
): MessageInitShape<typeof RowDecisionSchema> {
  return {
    requestId: row.requestId,
    entityId: row.entityId,
    modelVersion: o.version,
    score,
    decision,
    route: o.route,
    degraded: o.degraded,
    imputedFeatures: row.imputed,
    reasons,
  };
}
