import type { CardSections } from "./card-sections.js";

/** A tensor of a model's ONNX graph, as OIP v2 describes it. */
export interface TensorInfo {
  name: string;
  /** OIP v2 datatype: "FP32", "FP64", "INT64", ... */
  datatype: string;
  /** -1 for a dimension of variable size. */
  shape: number[];
}

/**
 * The card of one model version (models/<model>/<version>/card.json): what it is, what it was trained with,
 * how well it did on held-out data, and the thresholds that turn its score into a decision.
 */
export interface ModelCard extends CardSections {
  model: string;
  version: string;
  description: string;
  algorithm: string;
  /** Hash of the feature spec the version was trained with (see feature-spec.ts). */
  feature_spec_hash: string;
  /** Feature names in vector order (equal to the spec's). */
  features: string[];
  onnx: { file: string; inputs: TensorInfo[]; outputs: TensorInfo[]; score_output: string };
  /** score < review: approve; review <= score < decline: review; score >= decline: decline. */
  thresholds: { review: number; decline: number };
  metrics: Record<string, number>;
  training: Record<string, unknown>;
  /**
   * For linear models: log-odds = intercept + sum(coef[i] * x[i]). `means` is the mean training vector, the
   * reference that reason codes are measured from. Used for reason codes.
   */
  linear?: { intercept: number; coefficients: number[]; means?: number[] };
  /** For tree models: the ensemble's shape (the trees themselves are in model.onnx). */
  trees?: { count: number; max_depth: number; leaves: number };
  /** Calibration on the holdout: rows in 10 score deciles, mean score against observed rate. */
  calibration?: { mean_score: number; observed_rate: number; rows: number }[];
  /** Reference distributions for drift detection, measured on the holdout rows. */
  profile?: ReferenceProfile;
  /** When a model has no serving policy yet, routers make this version the champion (see seedChampion). */
  seed_champion?: boolean;
}

/** Histogram of one quantity: counts[k] values fell below edges[k] (and at or above edges[k − 1]); last bin open. */
export interface Histogram {
  edges: number[];
  counts: number[];
}

export interface ReferenceProfile {
  rows: number;
  inputs: Record<string, Histogram>;
  score: Histogram;
}

/** The version a fresh serving policy names: the first whose card says seed_champion, else the oldest. */
export function seedChampion(cards: readonly ModelCard[]): string | undefined {
  return (cards.find((c) => c.seed_champion) ?? cards[0])?.version;
}
