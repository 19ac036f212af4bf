import { specHash, specSkew, type ModelRepository } from "../../lib/model/index.js";
import type { CardCache } from "../card-cache.js";
import type { WorkerPool } from "../workers/worker-pool.js";

/**
 * Why a segment rule's version cannot serve on this router (not in the repository, trained with another feature
 * spec, not ready on any worker), or undefined when it can: the SegmentTable's check.
 */
export function segmentVersionProblem(parts: {
  repo: ModelRepository;
  cards: CardCache;
  workers: Pick<WorkerPool, "ready">;
}): (model: string, version: string) => Promise<string | undefined> {
  return async (model, version) => {
    const card = parts.cards.cardOrLoad(model, version);
    if (!card) return "is not in the model repository";
    const skew = specSkew(card, specHash(parts.repo.spec(model)));
    if (skew) return `cannot serve: ${skew}`;
    return (await parts.workers.ready(model, version)) ? undefined : "is not ready on any model worker";
  };
}
