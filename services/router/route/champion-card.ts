import { Code, ConnectError } from "@connectrpc/connect";
import type { RouteRequest } from "../../../gen/scoremesh/router/v1/router_pb.js";
import type { ModelCard } from "../../lib/model/index.js";
import type { RouterDeps } from "./router-deps.js";

/** The model version that scores a Route call first, and its card. */
export interface Champion {
  version: string;
  card: ModelCard;
}

/**
 * The champion of the request's model and its card. Refuses (FAILED_PRECONDITION) feature vectors built with
 * another feature spec than the one the champion was trained with: their columns would mean other things.
 */
export function championFor(req: RouteRequest, deps: Pick<RouterDeps, "champions" | "cards">): Champion {
  const version = deps.champions.champion(req.model);
  if (version === undefined) {
    throw new ConnectError(`no serving policy for model ${JSON.stringify(req.model)} yet`, Code.Unavailable);
  }
  return versionFor(req, version, deps);
}

/** `version` of the request's model and its card, refusing vectors of another feature spec (see championFor). */
export function versionFor(req: RouteRequest, version: string, deps: Pick<RouterDeps, "cards">): Champion {
  const card = deps.cards(req.model, version);
  if (!card) throw new ConnectError(`model ${req.model} version ${version} has no card here`, Code.Internal);
  if (req.featureSpecHash !== card.feature_spec_hash) {
    throw new ConnectError(
      `feature vectors were built with spec ${req.featureSpecHash}; ${req.model} version ${version} was trained with ${card.feature_spec_hash}`,
      Code.FailedPrecondition,
    );
  }
  return { version, card };
}
