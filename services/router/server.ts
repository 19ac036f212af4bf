import type { Logger } from "pino";
import { hostname } from "node:os";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { ModelRepository } from "../lib/model/index.js";
import { closeNats, connectNats, PolicyStore } from "../lib/nats/index.js";
import { ServiceHost, ServiceMetrics } from "../lib/service/index.js";
import { openAudit, shipAudit } from "./audit/start-audit.js";
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
import { SegmentTable } from "./segments/segment-table.js";
import { segmentVersionProblem } from "./segments/version-problem.js";
import { ShadowScorer } from "./shadow/shadow-scorer.js";
import { rulesBaselineFor } from "./rules-scorecard.js";
import { RetryBudgets } from "./workers/retry-budget.js";
import { WorkerBatcher } from "./workers/worker-batcher.js";
import { callWorkers, type RetryOptions } from "./workers/worker-call.js";
import { WorkerPool } from "./workers/worker-pool.js";

/** The most shadow calls (one per Route call sampled) a router has in flight; past it, samples are skipped. */
const SHADOW_MAX_IN_FLIGHT = 64;

/**
 * The router: follows the serving policy in NATS, sends feature rows to a model worker with a deadline,
 * maps scores to decisions with the thresholds of the version's card, and sends a record of every decision
 * to the monitor off the hot path. SERVING once every model has a champion that the workers have ready.
 */
export async function startRouter(config: RouterConfig, log: Logger): Promise<ServiceHost> {
  const metrics = new ServiceMetrics("router", config.metricsAddress);
  const repo = new ModelRepository(config.modelRepository);
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
  const workers = new WorkerPool(
    config.workerAddrs,
    config.tls.channel(),
    () => updateHealth(),
    config.workerHealthIntervalMs,
  );
  host.onClose(() => workers.close());
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
  const segments = new SegmentTable({ problem: segmentVersionProblem({ repo, cards, workers }), log }).start();
  host.onClose(() => segments.close());
  const scorecards = new Map(repo.models().map((m) => [m, rulesBaselineFor(repo.spec(m))]));
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
      defaultTimeoutMs: 2 * config.workerTimeoutMs + config.rulesReserveMs,
      shadow,
      segments,
      log,
    }),
  );
  await host.listen();

  const parts = {
    repo,
    cards,
    champions,
    workers,
    breakers,
    replica,
    audit,
    shadow,
    segments,
    onReconciled: updateHealth,
  };
  await joinMesh(host, config, parts, log);
  return host;
}

/** What the router shares with the rest of the mesh over NATS. */
interface MeshParts {
  repo: ModelRepository;
  cards: CardCache;
  champions: ChampionTable;
  workers: WorkerPool;
  breakers: BreakerBoard;
  replica: string;
  audit?: ReturnType<typeof openAudit>;
  shadow: ShadowScorer;
  segments: SegmentTable;
  onReconciled: () => void;
}

/** Joins the mesh over NATS: breaker state shared with the other replicas, trusted serving policies followed. */
async function joinMesh(
  host: ServiceHost,
  config: RouterConfig,
  { repo, cards, champions, workers, breakers, replica, audit, shadow, segments, onReconciled }: MeshParts,
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
  const watcher = await policies.watch(
    (p) => {
      reconciler.follow(p);
      shadow.follow(p);
      segments.follow(p);
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
