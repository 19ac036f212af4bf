import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { ModelCard } from "./model-card.js";

/** Maps a score to a decision with a card's thresholds. */
export function decide(score: number, t: ModelCard["thresholds"]): Decision {
  if (score >= t.decline) return Decision.DECLINE;
  if (score >= t.review) return Decision.REVIEW;
  return Decision.APPROVE;
}

/**
 * Maps a score to a decision; a degraded one (fallback model or rules) whose score lies within `band` of a
 * threshold goes to review: the low-confidence band.
 */
export function decideDegraded(score: number, t: ModelCard["thresholds"], band: number): Decision {
  if (Math.abs(score - t.review) < band || Math.abs(score - t.decline) < band) return Decision.REVIEW;
  return decide(score, t);
}
