import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { ModelCard } from "../../lib/model/index.js";
import { readTreeEnsemble } from "./onnx-trees.js";
import { LeafTreeShap } from "./leaf-tree-shap.js";

/**
 * An exact additive explanation of one row's raw model output (log-odds):
 * baseValue + Σ contributions[j] = raw output, one contribution per column of the feature vector.
 */
export interface Explanation {
  baseValue: number;
  contributions: Float64Array;
}

export interface Explainer {
  explain(vector: ArrayLike<number>): Explanation;
}

/** One reason code, as ScoreResponse.reasons carries it. */
export interface ReasonCode {
  code: string;
  feature: string;
  contribution: number;
}

/** How many reasons a decision carries at most. */
export const MAX_REASONS = 4;

/**
 * Linear models: relative to the mean training row m, contribution j = w_j · (x_j − m_j) and
 * baseValue = b + w · m (the exact Shapley values of a linear model with independent features).
 */
export function linearExplainer(linear: NonNullable<ModelCard["linear"]>): Explainer {
  const { intercept, coefficients } = linear;
  const means = linear.means ?? coefficients.map(() => 0);
  let baseValue = intercept;
  for (let j = 0; j < coefficients.length; j++) baseValue += coefficients[j]! * means[j]!;
  return {
    explain(vector) {
      const contributions = new Float64Array(coefficients.length);
      for (let j = 0; j < coefficients.length; j++) contributions[j] = coefficients[j]! * (vector[j]! - means[j]!);
      return { baseValue, contributions };
    },
  };
}

/** Tree models: TreeSHAP over the trees read from the version's own model.onnx. */
export function treeExplainer(onnx: Uint8Array, columns: number): Explainer {
  const shap = LeafTreeShap.create(readTreeEnsemble(onnx), columns);
  return { explain: (vector) => ({ baseValue: shap.expectedValue, contributions: shap.values(vector) }) };
}

/** The explainer of a model version, from its card (and its ONNX bytes for trees); undefined if it has none. */
export function explainerFor(card: ModelCard, onnx: () => Uint8Array): Explainer | undefined {
  if (card.linear) return linearExplainer(card.linear);
  if (card.algorithm === "gradient_boosted_trees") return treeExplainer(onnx(), card.features.length);
  return undefined;
}

/** Reviews and declines always carry reasons; approvals only when the caller asked (ScoreRequest.explain). */
export function wantsReasons(decision: Decision, explain: boolean): boolean {
  return explain || decision === Decision.REVIEW || decision === Decision.DECLINE;
}

/**
 * The features that pushed the score toward the positive class, largest contribution first (ties by column
 * order), at most `max`. Codes are "R-" + the column name: stable as long as the feature keeps its name.
 */
export function topReasons(
  columns: readonly string[],
  contributions: ArrayLike<number>,
  max = MAX_REASONS,
): ReasonCode[] {
  const order: number[] = [];
  for (let j = 0; j < contributions.length; j++) if (contributions[j]! > 0) order.push(j);
  order.sort((a, b) => contributions[b]! - contributions[a]! || a - b);
  return order
    .slice(0, max)
    .map((j) => ({ code: `R-${columns[j]}`, feature: columns[j]!, contribution: contributions[j]! }));
}
