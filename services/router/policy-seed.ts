import type { Logger } from "pino";
import { seedChampion, type ModelRepository } from "../lib/model/index.js";
import type { PolicyStore } from "../lib/nats/index.js";
import type { CardCache } from "./card-cache.js";

/**
 * Gives every model without a serving policy one: its champion is the version whose card says seed_champion,
 * else the oldest. A model that has a policy keeps it (the first replica to seed wins).
 */
export async function seedPolicies(
  policies: Pick<PolicyStore, "seed">,
  repo: ModelRepository,
  cards: CardCache,
  by: string,
  log: Logger,
): Promise<void> {
  for (const model of repo.models()) {
    const seed = seedChampion(repo.versions(model).map((v) => cards.card(model, v)!));
    if (seed && (await policies.seed(model, seed, by))) {
      log.info(
        { model, version: seed },
        "no serving policy yet: champion set to the seed version (promote others with meshctl)",
      );
    }
  }
}
