import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { featureColumns, type FeatureSpec } from "./feature-spec.js";

/** The version reported for a decision made by the rules baseline (by a router or by the edge). */
export const RULES_VERSION = "rules";

/**
 * The rules baseline: the last step of the router's fallback cascade, used when no model can answer, and the
 * edge's answer when no feature or router replica can (services/validator/edge-rules.ts). A documented
 * scorecard over four features of the credit-default spec, in code, no model. The four are derived from request
 * inputs only (no entity feature), so the edge, which has the inputs but not the entity features, builds the
 * same values with `buildVector(spec, inputs)`. The router only sees feature vectors, so the scorecard reads the four features by name from the vector and undoes their
 * `standardize` transform with the spec's mean and std (the values are then the spec's derived features as
 * the training kit computes them):
 *
 * | feature (raw)       | points                                  |
 * |---------------------|-----------------------------------------|
 * | `worst_delay`       | ≥ 2 months late: 3; 1 month: 1.5        |
 * | `months_delinquent` | ≥ 3 of 6 months late: 1.5; 1–2: 0.5     |
 * | `utilization`       | bill / limit ≥ 0.9: 1; ≥ 0.5: 0.5       |
 * | `payment_ratio`     | paid < 5 % of last bill: 0.5            |
 *
 * score = logistic(−1.9 + 0.9 × points): 0.13 with no points, 0.69 for a client two months late. Thresholds:
 * review ≥ 0.25, decline ≥ 0.5. A missing feature contributes no points. Only credit-default has it (see
 * rulesBaselineFor).
 *
 * @example
 *   const card = new RulesScorecard(spec);
 *   const { score, decision } = card.score(row.features);
 */
export class RulesScorecard {
  /** The model whose target (a default) the points and thresholds were written for. */
  static readonly model = "credit-default";
  static readonly thresholds = { review: 0.25, decline: 0.5 };
  private readonly readers: Partial<
    Record<"worst_delay" | "months_delinquent" | "utilization" | "payment_ratio", (v: ArrayLike<number>) => number>
  > = {};

  constructor(spec: FeatureSpec) {
    const cols = featureColumns(spec);
    for (const name of ["worst_delay", "months_delinquent", "utilization", "payment_ratio"] as const) {
      const col = cols.indexOf(name);
      const def = spec.features.find((f) => f.name === name);
      if (col < 0 || !def) continue;
      const std = [...def.transforms].reverse().find((t) => t.kind === "standardize") as
        { mean: number; std: number } | undefined;
      this.readers[name] = (v) => (std ? v[col]! * std.std + std.mean : v[col]!);
    }
  }

  /** Points of one feature vector (in the spec's column order). */
  points(v: ArrayLike<number>): number {
    const r = this.readers;
    let p = 0;
    const delay = r.worst_delay?.(v);
    if (delay !== undefined) p += delay >= 1.5 ? 3 : delay >= 0.5 ? 1.5 : 0;
    const months = r.months_delinquent?.(v);
    if (months !== undefined) p += months >= 2.5 ? 1.5 : months >= 0.5 ? 0.5 : 0;
    const util = r.utilization?.(v);
    if (util !== undefined) p += util >= 0.9 ? 1 : util >= 0.5 ? 0.5 : 0;
    const paid = r.payment_ratio?.(v);
    if (paid !== undefined && paid < 0.05) p += 0.5;
    return p;
  }

  thresholds(): { review: number; decline: number } {
    return RulesScorecard.thresholds;
  }

  score(v: ArrayLike<number>): { score: number; decision: Decision } {
    const score = 1 / (1 + Math.exp(-(-1.9 + 0.9 * this.points(v))));
    const t = RulesScorecard.thresholds;
    return {
      score,
      decision: score >= t.decline ? Decision.DECLINE : score >= t.review ? Decision.REVIEW : Decision.APPROVE,
    };
  }
}

/**
 * The rules baseline of a model, or undefined when it has none. The scorecard's points and thresholds were
 * written for credit-default's target; another model, even one with features of the same names (late-payment),
 * has no rules step: its cascade ends with its own light model, and a call that no model answers fails (see
 * `unanswered` in cascade.ts) rather than getting a decision made for another target.
 */
export function rulesBaselineFor(spec: FeatureSpec): RulesScorecard | undefined {
  return spec.model === RulesScorecard.model ? new RulesScorecard(spec) : undefined;
}
