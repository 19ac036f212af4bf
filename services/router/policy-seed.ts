import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { ServingPolicySchema } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { seedChampion, type ModelRepository } from "../lib/model/index.js";
import type { CardCache } from "./card-cache.js";
import type { ChampionReconciler } from "./champion-reconciler.js";
import type { ChampionTable } from "./champions.js";

/** What a router-local default says wrote it: never a policy in NATS, only this replica's choice. */
export const LOCAL_DEFAULT = "router default (no trusted serving policy)";

/**
 * Serves the seed version (its card says seed_champion, else the oldest) of every model that has no trusted
 * serving policy once the current policies have been read, so that a router never fails calls for want of one.
 * Routers may not write policies (only the control identity may, and the launcher or `meshctl seed-policies`
 * seeds them, signed): this default lives only in this replica, and the first trusted policy replaces it.
 */
export function followSeedDefaults(
  parts: { repo: ModelRepository; cards: CardCache; champions: ChampionTable; reconciler: ChampionReconciler },
  log: Logger,
): void {
  const { repo, cards, champions, reconciler } = parts;
  for (const model of repo.models()) {
    if (champions.champion(model) !== undefined || champions.pendingFor(model) !== undefined) continue;
    const seed = seedVersion(model, repo, cards);
    if (!seed) continue;
    log.warn(
      { model, version: seed },
      "no trusted serving policy for this model: serving its seed version until one is set (meshctl set-champion)",
    );
    reconciler.follow(create(ServingPolicySchema, { model, championVersion: seed, updatedBy: LOCAL_DEFAULT }));
  }
}

/** The seed version of a model (its card says seed_champion, else the oldest): what a router serves without a policy. */
export function seedVersion(model: string, repo: ModelRepository, cards: CardCache): string | undefined {
  return seedChampion(
    repo
      .versions(model)
      .map((v) => cards.card(model, v))
      .filter((c) => c !== undefined),
  );
}
