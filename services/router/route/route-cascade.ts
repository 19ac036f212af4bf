import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { RouteRequest } from "../../../gen/scoremesh/router/v1/router_pb.js";
import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { ModelCard } from "../../lib/model/index.js";
import { cascade, unanswered, type CascadeResult } from "../cascade.js";
import type { RulesScorecard } from "../../lib/model/index.js";
import type { Champion } from "./champion-card.js";
import type { RouterDeps } from "./router-deps.js";
import { workerScores } from "./worker-scores.js";

/** How a Route call was scored: the cascade's result, with the card of the fallback model and the rules it had. */
export interface Scored {
  result: CascadeResult;
  /** The fallback model's card; set when the cascade had a fallback step. */
  fallbackCard?: ModelCard;
  /** The rules baseline; set whenever `result.route` is RULES. */
  rules?: RulesScorecard;
}

/** The fallback model version and its card, when it can take the same vectors as the champion. */
function usableFallback(req: RouteRequest, champion: Champion, deps: Pick<RouterDeps, "fallbackVersion" | "cards">) {
  const version = deps.fallbackVersion?.(req.model);
  const card = version === undefined ? undefined : deps.cards(req.model, version);
  if (!card || card.feature_spec_hash !== req.featureSpecHash || card.features.length !== champion.card.features.length)
    return undefined;
  return { version: version!, card };
}

/**
 * Scores the rows by the cascade: champion → fallback model → rules, within the caller's deadline (or the
 * default one). Without a rules baseline for the model, the cascade's last error reaches the caller.
 */
export async function scoreByCascade(
  req: RouteRequest,
  ctx: HandlerContext,
  champion: Champion,
  matrix: Float32Array,
  deps: RouterDeps,
): Promise<Scored> {
  const fallback = usableFallback(req, champion, deps);
  const rules = deps.rules?.(req.model);
  const remaining = ctx.timeoutMs() ?? deps.defaultTimeoutMs ?? deps.workerTimeoutMs;
  if (remaining <= 0)
    throw new ConnectError("the deadline passed before a model worker was called", Code.DeadlineExceeded);
  const result = await cascade(
    {
      primary: champion.version,
      fallback: fallback?.version,
      remainingMs: remaining,
      workerTimeoutMs: deps.workerTimeoutMs,
      rulesReserveMs: rules ? (deps.rulesReserveMs ?? 25) : 0,
      signal: ctx.signal,
    },
    (version, timeoutMs) =>
      workerScores(deps, {
        model: req.model,
        version,
        card: deps.cards(req.model, version)!,
        matrix,
        rows: req.rows.length,
        timeoutMs,
        signal: ctx.signal,
      }),
  );
  if (result.route === Route.RULES && !rules) {
    throw unanswered(req.model, result.errors);
  }
  return { result, fallbackCard: fallback?.card, rules };
}
