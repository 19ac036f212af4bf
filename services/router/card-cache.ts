import type { ModelCard, ModelRepository } from "../lib/model/index.js";

/**
 * The cards of every model version in the repository, read once: the Route handler looks a card up on every
 * call. `load` reads the cards of versions added since (a policy may name a version trained after the start);
 * `generation` counts the loads, so that what is derived from the set of cards knows when to derive it again.
 */
export class CardCache {
  private readonly cards = new Map<string, ModelCard>();
  generation = 0;

  constructor(private readonly repo: ModelRepository) {
    this.load();
  }

  /** Reads the cards of the versions not read yet. */
  load(): void {
    this.generation++;
    for (const m of this.repo.models()) {
      for (const v of this.repo.versions(m))
        if (!this.cards.has(`${m}/${v}`)) this.cards.set(`${m}/${v}`, this.repo.card(m, v));
    }
  }

  card(model: string, version: string): ModelCard | undefined {
    return this.cards.get(`${model}/${version}`);
  }

  /** The card of a version, reading the repository again when it is not known yet; undefined when it is not there. */
  cardOrLoad(model: string, version: string): ModelCard | undefined {
    if (!this.card(model, version)) this.load();
    return this.card(model, version);
  }
}
