import type { ModelRepository } from "../lib/model/index.js";
import type { CardCache } from "./card-cache.js";
import type { RouterConfig } from "./config.js";

/**
 * The fallback model version of each model (the cascade's second step), by ROUTER_FALLBACK_VERSIONS: none, the
 * configured one, or ("auto") the lightest model: the lowest-numbered logistic-regression version.
 *
 * The automatic choice is made once per set of cards, not on every call: listing the repository costs a readdir
 * and two stats per version, about 0.1 ms, which showed in the router's profile.
 *
 * @example
 *   const fallbackVersion = fallbackVersions(config.fallbackVersions, repo, cards);
 *   fallbackVersion("credit-default"); // "1"
 */
export function fallbackVersions(
  setting: RouterConfig["fallbackVersions"],
  repo: ModelRepository,
  cards: CardCache,
): (model: string) => string | undefined {
  if (setting === "none") return () => undefined;
  if (setting !== "auto") return (model) => setting.get(model);
  const chosen = new Map<string, string | undefined>();
  let generation = cards.generation;
  return (model) => {
    if (generation !== cards.generation) {
      chosen.clear();
      generation = cards.generation;
    }
    if (!chosen.has(model)) chosen.set(model, lightestVersion(model, repo, cards));
    return chosen.get(model);
  };
}

/** The lowest-numbered logistic-regression version of a model. */
function lightestVersion(model: string, repo: ModelRepository, cards: CardCache): string | undefined {
  const light = repo.versions(model).filter((v) => cards.card(model, v)?.algorithm === "logistic_regression");
  return light.sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))[0];
}
