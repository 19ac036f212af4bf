import type { Logger } from "pino";
import { hostname } from "node:os";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { ModelRepository, openModelCache, rulesBaselineFor } from "../lib/model/index.js";
import { closeNats, connectNats, ModelSync, PolicyStore } from "../lib/nats/index.js";
import { ServiceHost, ServiceMetrics } from "../lib/service/index.js";
import { openAudit, shipAudit } from "../lib/audit/index.js";
import { shareBreakers } from "./breakers/breaker-sharing.js";
import { BreakerBoard } from "./breakers/breakers.js";
import { CardCache } from "./card-cache.js";
import { ChampionReconciler } from "./champion-reconciler.js";
import { ChampionTable } from "./champions.js";
import type { RouterConfig } from "./config.js";
import { Reasoner } from "./explain/reasoner.js";
import { fallbackVersions } from "./fallback-versions.js";
import { routerHealth } from "./health-rule.js";
import { registerRouterMetrics } from "./router-metrics.js";
import { BatchMetrics } from "../lib/batching/index.js";
import { MonitorSink } from "./monitor-sink.js";
import { followSeedDefaults, seedVersion } from "./policy-seed.js";
import { routerRoutes } from "./routes.js";
import { CascadeTable } from "./light-first/cascade-table.js";
import { SegmentTable } from "./segments/segment-table.js";
import { segmentVersionProblem } from "./segments/version-problem.js";
import { ShadowScorer } from "./shadow/shadow-scorer.js";
import { RetryBudgets } from "./workers/retry-budget.js";
import { WorkerBatcher } from "./workers/worker-batcher.js";
import { callWorkers, type RetryOptions } from "./workers/worker-call.js";
import { openWorkers } from "./workers/open-workers.js";
import { openPools } from "./workers/open-pools.js";
import type { PoolRouting } from "./workers/pool-routing.js";
import type { WorkerPool } from "./workers/worker-pool.js";

/** The most shadow calls (one per Route call sampled) a router has in flight; past it, samples are skipped. */
const SHADOW_MAX_IN_FLIGHT = 64;

/**
 * The router: follows the serving policy in NATS, sends feature rows to a model worker with a deadline,
 * maps scores to decisions with the thresholds of the version's card, and sends a record of every decision
 * to the monitor off the hot path. SERVING once every model has a champion that the workers have ready.
 */
export async function startRouter(config: RouterConfig, log: Logger): Promise<ServiceHost> {
  const metrics = new ServiceMetrics("router", config.metricsAddress);
  const cache = openModelCache(config.modelCacheDir, "router");
  const repo = new ModelRepository(config.modelRepository, [cache.dir]);
  const cards = new CardCache(repo);
  const host = new ServiceHost({
    name: "router",
    address: config.address,
    credentials: config.tls.server(),
    healthAddress: config.healthAddress,
    metrics,
    log,
    drainTimeoutMs: config.drainTimeoutMs,
  });
  host.onClose(() => cache.close());
  const champions = new ChampionTable();
  const updateHealth = () => {
    const health = routerHealth(
      repo.models(),
      (m) => champions.champion(m),
      workers.anyServing(),
      (m) => champions.standInFor(m),
    );
    host.setServing(health.serving, health.why);
  };
  const workers = await openWorkers(config, host, () => updateHealth(), log);
  const pools = openPools(workers, metrics.registry, host, log);
  const monitor = new MonitorSink(config.monitorAddr, `router-${process.pid}`, {
    credentials: config.tls.channel(),
    flushMs: config.monitorFlushMs,
    queueMax: config.monitorQueueMax,
    log,
  });
  host.onClose(() => monitor.close());
  const replica = `router-${hostname()}-${process.pid}`;
  const breakers = new BreakerBoard(replica, config.breaker, log);
  const retry = retryOptions(config, log);
  const hop = new BatchMetrics(metrics.registry).batcher("inference.GRPCInferenceService/ModelInfer");
  const batcher = config.batching
    ? workerBatcher(config, (call) => callWorkers(workers, call, breakers, retry), hop.onBatch)
    : undefined;
  if (batcher) {
    hop.watch(() => batcher.stats());
    host.onClose(() => batcher.close());
  }
  registerRouterMetrics(metrics.registry, breakers, retry.budgets);
  const audit = config.audit ? openAudit(host, config.audit, log) : undefined;
  const shadow = new ShadowScorer({
    deps: { workers, breakers, cards: (m, v) => cards.card(m, v), monitor },
    ...{ timeoutMs: config.workerTimeoutMs, maxInFlight: SHADOW_MAX_IN_FLIGHT, log },
    ready: (m, v) => workers.ready(m, v),
  }).start();
  host.onClose(() => shadow.close());
  const cascades = new CascadeTable(log);
  const segments = new SegmentTable({ problem: segmentVersionProblem({ repo, cards, workers }), log }).start();
  host.onClose(() => segments.close());
  const scorecards = new Map(repo.models().map((m) => [m, rulesBaselineFor(repo.spec(m))]));
  /** The KV revision of each model's serving policy last taken in (the audit record's policy_revision). */
  const policyRevisions = new Map<string, bigint>();
  host.add(
    RouterService,
    routerRoutes({
      reasons: new Reasoner(repo, log),
      champions,
      cards: (m, v) => cards.card(m, v),
      workers,
      monitor,
      audit: audit?.trail,
      workerTimeoutMs: config.workerTimeoutMs,
      batcher,
      breakers,
      retry,
      fallbackVersion: fallbackVersions(config.fallbackVersions, repo, cards),
      rules: (m) => scorecards.get(m),
      rulesReserveMs: config.rulesReserveMs,
      reviewBand: config.reviewBand,
      policyRevision: (m) => policyRevisions.get(m),
      defaultTimeoutMs: 2 * config.workerTimeoutMs + config.rulesReserveMs,
      shadow,
      lightFirst: (m) => cascades.of(m),
      segments,
      log,
    }),
  );
  await host.listen();

  const parts = {
    repo,
    cache: cache.dir,
    cards,
    champions,
    workers,
    breakers,
    replica,
    audit,
    shadow,
    cascades,
    segments,
    pools,
    onReconciled: updateHealth,
  };
  await joinMesh(host, config, { ...parts, policyRevisions }, log);
  return host;
}

/** What the router shares with the rest of the mesh over NATS. */
interface MeshParts {
  repo: ModelRepository;
  /** The local cache of versions published to NATS (meshctl publish). */
  cache: string;
  cards: CardCache;
  champions: ChampionTable;
  workers: WorkerPool;
  breakers: BreakerBoard;
  replica: string;
  audit?: ReturnType<typeof openAudit>;
  shadow: ShadowScorer;
  cascades: CascadeTable;
  segments: SegmentTable;
  pools: PoolRouting;
  onReconciled: () => void;
  policyRevisions: Map<string, bigint>;
}

/** Joins the mesh over NATS: breaker state shared with the other replicas, trusted serving policies followed. */
async function joinMesh(
  host: ServiceHost,
  config: RouterConfig,
  {
    repo,
    cache,
    cards,
    champions,
    workers,
    breakers,
    replica,
    audit,
    shadow,
    cascades,
    segments,
    pools,
    onReconciled,
    policyRevisions,
  }: MeshParts,
  log: Logger,
): Promise<void> {
  const nc = await connectNats(config.natsServers, replica, config.natsIdentity, log);
  host.onClose(() => closeNats(nc));
  if (audit) shipAudit(host, audit, nc, config.audit!, log);
  const sharing = await shareBreakers(nc, breakers, log);
  host.onClose(() => sharing.close());
  const policies = await PolicyStore.open(nc, { trusted: config.trustedOperators });
  const standInVersion = (m: string) => seedVersion(m, repo, cards);
  const reconciler = new ChampionReconciler({
    ...{ champions, repo, cards, workers, log, onReconciled },
    standInVersion,
  }).start();
  host.onClose(() => reconciler.close());
  // A version published to NATS: its card (and model, for reason codes) in the cache, so a policy may name it.
  const onVersion = () => (cards.load(), void reconciler.reconcile());
  const published = new ModelSync({ nc, cacheDir: cache, models: () => repo.models(), onVersion, log }).start();
  host.onClose(() => published.close());
  await published.initial(5000);
  const watcher = await policies.watch(
    (p, revision) => {
      policyRevisions.set(p.model, BigInt(revision));
      reconciler.follow(p);
      shadow.follow(p);
      cascades.follow(p);
      segments.follow(p);
      pools.follow(p);
    },
    (err, model) =>
      log.warn(
        { err, model },
        "refused a serving policy (unreadable or not signed by a trusted operator): kept the last good one",
      ),
  );
  host.onClose(() => watcher.close());
  followSeedDefaults({ repo, cards, champions, reconciler }, log);
  await reconciler.reconcile();
}

/** Retries on another worker, with backoff, within a budget shared per model version (see callWorkers). */
function retryOptions(config: RouterConfig, log: Logger): RetryOptions {
  return {
    budgets: new RetryBudgets({ ratio: config.retry.budgetRatio, minRetriesPerSecond: config.retry.minPerSecond }),
    maxAttempts: config.retry.maxAttempts,
    backoffBaseMs: config.retry.backoffBaseMs,
    backoffMaxMs: config.retry.backoffMaxMs,
    log,
  };
}

/** Batching across the hop (ROUTER_BATCHING): the rows of concurrent Route calls share one ModelInfer. */
function workerBatcher(
  config: RouterConfig,
  call: ConstructorParameters<typeof WorkerBatcher>[0],
  onBatch: (rows: number) => void,
): WorkerBatcher {
  return new WorkerBatcher(call, {
    windowMs: config.batchWindowUs / 1000,
    maxRows: config.batchMaxRows,
    maxInFlight: config.batchMaxInFlight,
    workerTimeoutMs: config.workerTimeoutMs,
    onBatch,
  });
}
