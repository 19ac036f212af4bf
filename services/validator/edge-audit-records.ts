import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { Assignment } from "../../gen/scoremesh/audit/v1/audit_pb.js";
import type { ValidatedRowSchema } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import { Route, type Decision } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { AUDIT_INPUTS_FIELD, encodeNumberMap, type AuditRecordInit } from "../lib/audit/index.js";
import { RULES_VERSION, segmentsOf, specHash, type FeatureSpec, type RulesScorecard } from "../lib/model/index.js";

type RowInit = MessageInitShape<typeof ValidatedRowSchema>;

/** What the edge's records of one model share: its spec (and hash), its protected inputs, the rules. */
export interface EdgeModel {
  spec: FeatureSpec;
  specHash: string;
  /** The spec's protected inputs (`sensitive`): never in a record, only as coarse segments. */
  sensitive: ReadonlySet<string>;
  card: RulesScorecard;
}

export function edgeModel(spec: FeatureSpec, card: RulesScorecard): EdgeModel {
  const sensitive = new Set(spec.inputs.filter((i) => i.sensitive).map((i) => i.name));
  return { spec, specHash: specHash(spec), sensitive, card };
}

/** One row the edge decided by the rules. */
export interface EdgeDecided {
  row: RowInit;
  vector: ArrayLike<number>;
  imputed: readonly string[];
  score: number;
  decision: Decision;
}

/** What an edge call's records share. */
export interface EdgeAuditCall {
  decidedAt: Pick<Timestamp, "seconds" | "nanos">;
  /** The downstream error that made the edge decide, as a gRPC code name ("UNAVAILABLE"). */
  reason: string;
  /** The review band the degraded decisions were made with (VALIDATOR_REVIEW_BAND). */
  reviewBand: number;
}

/** A Connect code as the gRPC status name: Code.DeadlineExceeded → "DEADLINE_EXCEEDED". */
export function grpcCodeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * The audit record of each decision the edge made by the rules baseline (docs/edge.md): assignment EDGE_RULES,
 * route RULES, version "rules", degraded with the reason, the rules' thresholds, no reasons (as a router's rules
 * decisions), the validated inputs without the protected attributes (those only as coarse segments), no entity
 * features (the rules read none), and the vector the rules scored, so that `meshctl audit replay` rebuilds it.
 */
export function edgeAuditRecords(
  m: EdgeModel,
  decided: readonly EdgeDecided[],
  call: EdgeAuditCall,
): AuditRecordInit[] {
  const t = m.card.thresholds();
  return decided.map(({ row, vector, imputed, score, decision }) => {
    const inputs = row.inputs ?? {};
    return {
      requestId: row.requestId ?? "",
      tenantId: row.tenantId ?? "",
      traceId: row.traceId ?? "",
      decidedAt: call.decidedAt,
      modelVersion: RULES_VERSION,
      featureSpecHash: m.specHash,
      assignment: Assignment.EDGE_RULES,
      inputs: encodeNumberMap(AUDIT_INPUTS_FIELD, inputs, m.sensitive),
      segment: segmentsOf(m.spec, inputs),
      labels: row.labels ?? {},
      entityId: row.entityId ?? "",
      imputed,
      vector,
      route: Route.RULES,
      degraded: true,
      openBreakers: [],
      score,
      thresholds: { review: t.review, decline: t.decline },
      decision,
      reasons: [],
      explain: row.explain ?? false,
      reviewBand: call.reviewBand,
      degradedReason: call.reason,
    };
  });
}
