import { Code, ConnectError } from "@connectrpc/connect";
import type { ModelCard } from "./model-card.js";

/**
 * Training/serving skew guard: a model version may only score vectors built with the feature spec it was trained
 * with. Returns undefined when the card's spec hash is the spec in use, else a message naming both hashes (for
 * the log line and the FAILED_PRECONDITION error).
 *
 * @example
 * const problem = specSkew(card, specHash(repo.spec(card.model)));
 * if (problem) throw specSkewError(problem);
 */
export function specSkew(
  card: Pick<ModelCard, "model" | "version" | "feature_spec_hash">,
  specInUse: string,
): string | undefined {
  if (card.feature_spec_hash === specInUse) return undefined;
  return (
    `${card.model} version ${card.version} was trained with feature spec ${card.feature_spec_hash}, ` +
    `but the spec in use is ${specInUse}: refusing to serve it (retrain it, or serve it with its own spec)`
  );
}

/** The gRPC error for a skewed version: FAILED_PRECONDITION with the message of specSkew. */
export function specSkewError(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition);
}
