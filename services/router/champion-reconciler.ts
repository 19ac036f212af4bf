import type { Logger } from "pino";
import type { ServingPolicy } from "../../gen/scoremesh/policy/v1/policy_pb.js";
import { specHash, specSkew, type ModelRepository } from "../lib/model/index.js";
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
  /**
   * The version that stands in (degraded) while the policy's champion cannot serve and the router has none
   * (the seed version); absent: none, the model waits for its champion.
   */
  standInVersion?: (model: string) => string | undefined;
  /** How long a champion may stay not ready on every worker before a stand-in serves, ms. */
  standInAfterMs?: number;
  now?: () => number;
}

/**
 * Follows the serving policy: a new champion or canary is adopted only when the workers have it ready; until
 * then the old one keeps serving. The skew guard never adopts a version trained with another feature spec than
 * the one in use. A policy whose champion cannot serve (not in the repository, skewed, or not ready on any worker
 * for `standInAfterMs`) while the router has no champion gets a stand-in, so calls never fail for want of one.
 * Each problem is logged once per version, not on every check. Pending versions are checked again every
 * `intervalMs` (workers load versions on their own time).
 *
 * @example
 *   const reconciler = new ChampionReconciler({ champions, repo, cards, workers, log, onReconciled: updateHealth }).start();
 *   await policies.watch((p) => reconciler.follow(p), onError);
 */
export class ChampionReconciler {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** Why a version cannot serve, by "model/version" (no card, skew): logged once when it changes, not every 250 ms. */
  private readonly broken = new Map<string, string>();
  /** Since when each model's pending champion has waited. */
  private readonly waiting = new Map<string, { version: string; since: number }>();

  constructor(private readonly o: ChampionReconcilerOptions) {}

  /** Takes in a policy: when it names a new champion or changes the canary, tries to adopt it at once. */
  follow(p: ServingPolicy): void {
    const canary = p.canary ? { version: p.canary.version, percent: p.canary.percent } : undefined;
    const champion = this.o.champions.want(p.model, p.championVersion);
    const canaryChanged = this.o.champions.wantCanary(p.model, canary);
    if (!champion && !canaryChanged) return;
    const by = p.updatedBy;
    if (champion) this.o.log.info({ model: p.model, version: p.championVersion, by }, "policy names a new champion");
    if (canaryChanged) this.o.log.info({ model: p.model, canary: canary ?? null, by }, "policy changes the canary");
    void this.reconcile();
  }

  /** Adopts every pending version that is ready; one reconcile at a time (a call during one returns at once). */
  async reconcile(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const adopted = await this.o.champions.reconcile((model, version) => this.adoptable(model, version));
      for (const a of adopted) this.o.log.info({ model: a.model, from: a.from, to: a.to }, `${a.arm} switched`);
      await this.standIns();
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

  /** A stand-in for each model whose policy's champion cannot serve while the router has no champion. */
  private async standIns(): Promise<void> {
    const now = (this.o.now ?? performance.now.bind(performance))();
    for (const model of this.o.repo.models()) {
      const pending = this.o.champions.pendingFor(model);
      if (pending === undefined || this.o.champions.champion(model) !== undefined) continue;
      const w = this.waiting.get(model);
      if (w?.version !== pending) this.waiting.set(model, { version: pending, since: now });
      const waited = now - (this.waiting.get(model)?.since ?? now);
      const why =
        this.broken.get(`${model}/${pending}`) ??
        (waited >= (this.o.standInAfterMs ?? 10_000) ? "it is not ready on any model worker" : undefined);
      const standIn = this.o.standInVersion?.(model);
      if (!why || standIn === undefined || standIn === pending || !(await this.adoptable(model, standIn))) continue;
      const reason = `the serving policy names version ${pending}, which cannot serve: ${why}`;
      if (!this.o.champions.standIn(model, standIn, reason)) continue;
      this.o.log.error(
        { model, policyVersion: pending, standIn },
        `${reason}; serving version ${standIn} instead (degraded) until the policy is fixed (meshctl set-champion)`,
      );
    }
  }

  private async adoptable(model: string, version: string): Promise<boolean> {
    const card = this.o.cards.cardOrLoad(model, version);
    if (!card) return this.cannotServe(model, version, "it is not in the model repository");
    const skew = specSkew(card, specHash(this.o.repo.spec(model)));
    if (skew) return this.cannotServe(model, version, skew, { cardSpecHash: card.feature_spec_hash });
    this.broken.delete(`${model}/${version}`);
    return this.o.workers.ready(model, version);
  }

  /** Records why a version cannot serve and logs it once per version and reason; false. */
  private cannotServe(model: string, version: string, why: string, fields: object = {}): false {
    const key = `${model}/${version}`;
    if (this.broken.get(key) !== why) {
      this.broken.set(key, why);
      const msg =
        why === "it is not in the model repository"
          ? "the policy names a version that is not in the model repository"
          : why;
      this.o.log.error({ model, version, ...fields }, msg);
    }
    return false;
  }
}
