import { seedChampion, type ModelCard, type ModelRepository } from "../../lib/model/index.js";
import type { ScoreMixView } from "./score-mix.js";

/** Which versions serve a model: from its serving policy (or, until one is known, from the decisions seen). */
export interface ServingVersions {
  champion: string;
  canary?: string;
  /** The canary's share of traffic, percent. */
  canaryPercent?: number;
}

/** One card on the page: the version, its role and the card's regulator sections (see card-sections.ts). */
export interface CardView {
  model: string;
  version: string;
  role: "champion" | "canary";
  /** Where the role comes from: the serving policy, the decisions seen, or the cards' seed champion. */
  role_from: "policy" | "decisions" | "seed";
  canary_percent: number | null;
  /** Why the card is not shown (e.g. the repository lacks the version); null when it is. */
  missing: string | null;
  description?: string;
  algorithm?: string;
  roc_auc?: number | null;
  intended_use?: string | null;
  limitations?: string[];
  data?: ModelCard["data"] | null;
  performance?: ModelCard["performance"] | null;
}

/**
 * The model cards of what serves each model of the repository, champion and canary, for the monitor's page
 * (/cards.json). The serving policy tells which versions they are (setServing, from the policy watch); until
 * one is known, the decisions seen (the version with most primary-route decisions, and the canary route's), else
 * the cards' seed champion. Cards are read once per version and kept.
 */
export class ModelCards {
  private readonly serving = new Map<string, ServingVersions>();
  private readonly cards = new Map<string, ModelCard | string>();

  constructor(
    private readonly repo: Pick<ModelRepository, "models" | "versions" | "card"> | undefined,
    private readonly seen: () => readonly ScoreMixView[],
  ) {}

  /** The model's serving versions from its (verified) serving policy. */
  setServing(model: string, versions: ServingVersions): void {
    this.serving.set(model, versions);
  }

  view(): CardView[] {
    if (!this.repo) return [];
    return this.repo.models().flatMap((model) => {
      const [s, from] = this.servingOf(model);
      if (!s) return [];
      const champion = this.cardView(model, s.champion, "champion", from, null);
      if (!s.canary) return [champion];
      return [champion, this.cardView(model, s.canary, "canary", from, s.canaryPercent ?? null)];
    });
  }

  private servingOf(model: string): [ServingVersions | undefined, CardView["role_from"]] {
    const policy = this.serving.get(model);
    if (policy) return [policy, "policy"];
    const mix = this.seen().filter((m) => m.model === model && m.role !== "shadow");
    const champion = mix.find((m) => m.role === "champion")?.version;
    const canary = mix.find((m) => m.role === "canary")?.version;
    if (champion) return [{ champion, ...(canary ? { canary } : {}) }, "decisions"];
    const cards = this.repo!.versions(model).flatMap((v) => {
      const c = this.card(model, v);
      return typeof c === "string" ? [] : [c];
    });
    const seed = seedChampion(cards);
    return [seed ? { champion: seed } : undefined, "seed"];
  }

  private cardView(
    model: string,
    version: string,
    role: CardView["role"],
    from: CardView["role_from"],
    percent: number | null,
  ): CardView {
    const c = this.card(model, version);
    const head = { model, version, role, role_from: from, canary_percent: percent };
    if (typeof c === "string") return { ...head, missing: c };
    return {
      ...head,
      missing: null,
      description: c.description,
      algorithm: c.algorithm,
      roc_auc: c.metrics["roc_auc"] ?? null,
      intended_use: c.intended_use ?? null,
      limitations: c.limitations ?? [],
      data: c.data ?? null,
      performance: c.performance ?? null,
    };
  }

  /** The version's card, or why there is none (kept either way: a version's card does not change). */
  private card(model: string, version: string): ModelCard | string {
    const key = `${model}/${version}`;
    let c = this.cards.get(key);
    if (c === undefined) {
      try {
        c = this.repo!.card(model, version);
      } catch {
        c = `no card of ${model} version ${version} in the model repository`;
      }
      this.cards.set(key, c);
    }
    return c;
  }
}
