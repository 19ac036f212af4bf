import type { Logger } from "pino";
import type { ServingPolicy } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { specHash, specSkew, type ModelCard, type ModelRepository } from "../lib/model/index.js";
import type { CardCache } from "./card-cache.js";
import type { ChampionTable } from "./champions.js";
import type { WorkerPool } from "./workers/worker-pool.js";

export interface ChampionReconcilerOptions {
  champions: ChampionTable;
  repo: ModelRepository;
  cards: CardCache;
  workers: Pick<WorkerPool, "ready">;
  log: Logger;
  /** Called after every reconcile (the router's health depends on the champions). */
  onReconciled: () => void;
}

/**
 * Follows the serving policy: a new champion is adopted only when the workers have it ready; until then the
 * old one keeps serving. The skew guard never adopts a version trained with another feature spec than the one
 * in use. Pending champions are checked again every `intervalMs` (workers load versions on their own time).
 *
 * @example
 *   const reconciler = new ChampionReconciler({ champions, repo, cards, workers, log, onReconciled: updateHealth }).start();
 *   await policies.watch((p) => reconciler.follow(p), onError);
 */
export class ChampionReconciler {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** Skewed versions already logged: once each, not every 250 ms. */
  private readonly skewLogged = new Set<string>();

  constructor(private readonly o: ChampionReconcilerOptions) {}

  /** Takes in a policy: when it names a new champion, tries to adopt it at once. */
  follow(p: ServingPolicy): void {
    if (!this.o.champions.want(p.model, p.championVersion)) return;
    this.o.log.info({ model: p.model, version: p.championVersion, by: p.updatedBy }, "policy names a new champion");
    void this.reconcile();
  }

  /** Adopts every pending champion that is ready; one reconcile at a time (a call during one returns at once). */
  async reconcile(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const adopted = await this.o.champions.reconcile((model, version) => this.adoptable(model, version));
      for (const a of adopted) this.o.log.info({ model: a.model, from: a.from, to: a.to }, "champion switched");
      this.o.onReconciled();
    } finally {
      this.running = false;
    }
  }

  start(intervalMs = 250): this {
    this.timer = setInterval(() => void this.reconcile(), intervalMs);
    this.timer.unref();
    return this;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async adoptable(model: string, version: string): Promise<boolean> {
    const card = this.o.cards.cardOrLoad(model, version);
    if (!card) {
      this.o.log.error({ model, version }, "the policy names a version that is not in the model repository");
      return false;
    }
    if (this.skewed(model, version, card)) return false;
    return this.o.workers.ready(model, version);
  }

  /** The skew guard: true (and logged once) when the version was trained with another feature spec than the one in use. */
  private skewed(model: string, version: string, card: ModelCard): boolean {
    const specInUse = specHash(this.o.repo.spec(model));
    const skew = specSkew(card, specInUse);
    if (!skew) return false;
    if (!this.skewLogged.has(`${model}/${version}`)) {
      this.skewLogged.add(`${model}/${version}`);
      this.o.log.error({ model, version, cardSpecHash: card.feature_spec_hash, specInUse }, skew);
    }
    return true;
  }
}
