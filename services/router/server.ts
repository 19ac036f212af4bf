import type { Logger } from "pino";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { specHash, seedChampion, type ModelCard, specSkew, ModelRepository } from "../lib/model/index.js";
import { closeNats, connectNats, PolicyStore } from "../lib/nats/index.js";
import { BreakerStore } from "./breakers/breaker-store.js";
import { rulesBaselineFor } from "./rules-scorecard.js";
import { hostname } from "node:os";
import { BreakerBoard } from "./breakers/breakers.js";
import { ServiceHost } from "../lib/service/index.js";
import { ChampionTable } from "./champions.js";
import type { RouterConfig } from "./config.js";
import { MonitorSink } from "./monitor-sink.js";
import { Reasoner } from "./explain/reasoner.js";
import { routerRoutes } from "./routes.js";
import { WorkerPool } from "./workers/worker-pool.js";
import { WorkerBatcher } from "./workers/worker-batcher.js";
import { RetryBudgets } from "./workers/retry-budget.js";
import { callWorkers, type RetryOptions } from "./workers/worker-call.js";

/**
 * The router: follows the serving policy in NATS, sends feature rows to a model worker with a deadline,
 * maps scores to decisions with the thresholds of the version's card, and sends a record of every decision
 * to the monitor off the hot path. SERVING once every model has a champion that the workers have ready.
 */
export async function startRouter(config: RouterConfig, log: Logger): Promise<ServiceHost> {
  const repo = new ModelRepository(config.modelRepository);
  const cards = new Map<string, ModelCard>();
  // The fallback version of each model, chosen once per set of cards, not on every call: listing the repository
  // costs a readdir and two stats per version, about 0.1 ms, which showed in the router's profile.
  const fallbacks = new Map<string, string | undefined>();
  const loadCards = () => {
    fallbacks.clear();
    for (const m of repo.models()) for (const v of repo.versions(m)) if (!cards.has(`${m}/${v}`)) cards.set(`${m}/${v}`, repo.card(m, v));
  };
  loadCards();
  const cardOf = (m: string, v: string) => cards.get(`${m}/${v}`);

  const host = new ServiceHost({ name: "router", address: config.address, log, drainTimeoutMs: config.drainTimeoutMs });
  const champions = new ChampionTable();
  // SERVING once every model has a champion: from then on the cascade answers every call, with the rules
  // baseline when no worker can (degraded, and said so in every response).
  const updateHealth = () => {
    const missing = repo.models().filter((m) => champions.champion(m) === undefined);
    if (missing.length) host.setServing(false, workers.anyServing() ? `no ready champion yet for ${missing.join(", ")}` : "no model worker is serving");
    else host.setServing(true, workers.anyServing() ? "champions ready on the workers" : "no model worker is serving: decisions are degraded (fallback cascade)");
  };
  const workers = new WorkerPool(config.workerAddrs, () => updateHealth(), config.workerHealthIntervalMs);
  host.onClose(() => workers.close());
  const monitor = new MonitorSink(config.monitorAddr, `router-${process.pid}`, {
    flushMs: config.monitorFlushMs,
    queueMax: config.monitorQueueMax,
    log,
  });
  host.onClose(() => monitor.close());
  const replica = `router-${hostname()}-${process.pid}`;
  const breakers = new BreakerBoard(replica, config.breaker, log);
  const fallbackVersion = (model: string): string | undefined => {
    if (config.fallbackVersions === "none") return undefined;
    if (config.fallbackVersions !== "auto") return config.fallbackVersions.get(model);
    if (fallbacks.has(model)) return fallbacks.get(model);
    // The lightest model: the lowest-numbered logistic-regression version.
    const light = repo.versions(model).filter((v) => cardOf(model, v)?.algorithm === "logistic_regression");
    const v = light.sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))[0];
    fallbacks.set(model, v);
    return v;
  };
  const scorecards = new Map(repo.models().map((m) => [m, rulesBaselineFor(repo.spec(m))]));
  // Retries on another worker, with backoff, within a budget shared per model version (see callWorkers).
  const retry: RetryOptions = {
    budgets: new RetryBudgets({ ratio: config.retry.budgetRatio, minRetriesPerSecond: config.retry.minPerSecond }),
    maxAttempts: config.retry.maxAttempts,
    backoffBaseMs: config.retry.backoffBaseMs,
    backoffMaxMs: config.retry.backoffMaxMs,
    log,
  };
  const batcher = config.batching
    ? new WorkerBatcher((call) => callWorkers(workers, call, breakers, retry), {
        windowMs: config.batchWindowUs / 1000,
        maxRows: config.batchMaxRows,
        maxInFlight: config.batchMaxInFlight,
        workerTimeoutMs: config.workerTimeoutMs,
      })
    : undefined;
  if (batcher) host.onClose(() => batcher.close());
  host.add(
    RouterService,
    routerRoutes({
      reasons: new Reasoner(repo, log),
      champions,
      cards: cardOf,
      workers,
      monitor,
      workerTimeoutMs: config.workerTimeoutMs,
      batcher,
      breakers,
      retry,
      fallbackVersion,
      rules: (m) => scorecards.get(m),
      rulesReserveMs: config.rulesReserveMs,
      reviewBand: config.reviewBand,
      defaultTimeoutMs: 2 * config.workerTimeoutMs + config.rulesReserveMs,
      log,
    }),
  );
  await host.listen();

  const nc = await connectNats(config.natsServers, replica, log);
  host.onClose(() => closeNats(nc));
  // Breaker state shared with the other replicas: ours published, theirs adopted (BreakerSync's merge rules).
  const breakerStore = await BreakerStore.open(nc);
  host.onClose(() => breakerStore.close());
  breakers.publish = (t) =>
    void breakerStore
      .publish(t)
      .catch((err: unknown) => log.warn({ err, target: t.target, state: t.state }, "could not publish a breaker transition yet: it is put again once NATS answers"));
  const breakerWatch = await breakerStore.watch(
    (t) => breakers.apply(t),
    (err) => log.warn({ err }, "ignoring an unreadable breaker transition"),
  );
  host.onClose(() => breakerWatch.close());
  const policies = await PolicyStore.open(nc);
  for (const model of repo.models()) {
    // The version whose card says seed_champion, else the oldest.
    const seed = seedChampion(repo.versions(model).map((v) => cardOf(model, v)!));
    if (seed && (await policies.seed(model, seed, `router-${process.pid}`))) {
      log.info({ model, version: seed }, "no serving policy yet: champion set to the seed version (promote others with meshctl)");
    }
  }

  // Adopt a new champion only when the workers have it ready; until then the old one keeps serving.
  let reconciling = false;
  const skewLogged = new Set<string>();
  const reconcile = async () => {
    if (reconciling) return;
    reconciling = true;
    try {
      const adopted = await champions.reconcile(async (model, version) => {
        if (!cardOf(model, version)) loadCards();
        if (!cardOf(model, version)) {
          log.error({ model, version }, "the policy names a version that is not in the model repository");
          return false;
        }
        // Skew guard: never adopt a version trained with another feature spec than the one in use.
        const skew = specSkew(cardOf(model, version)!, specHash(repo.spec(model)));
        if (skew) {
          if (!skewLogged.has(`${model}/${version}`)) {
            skewLogged.add(`${model}/${version}`);
            log.error({ model, version, cardSpecHash: cardOf(model, version)!.feature_spec_hash, specInUse: specHash(repo.spec(model)) }, skew);
          }
          return false;
        }
        return workers.ready(model, version);
      });
      for (const a of adopted) log.info({ model: a.model, from: a.from, to: a.to }, "champion switched");
      updateHealth();
    } finally {
      reconciling = false;
    }
  };
  const timer = setInterval(() => void reconcile(), 250);
  timer.unref();
  host.onClose(() => clearInterval(timer));
  const watcher = await policies.watch(
    (p) => {
      if (champions.want(p.model, p.championVersion)) {
        log.info({ model: p.model, version: p.championVersion, by: p.updatedBy }, "policy names a new champion");
        void reconcile();
      }
    },
    (err) => log.warn({ err }, "ignoring an unreadable serving policy"),
  );
  host.onClose(() => watcher.close());
  await reconcile();
  return host;
}
