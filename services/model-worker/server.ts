import { BatchMetrics, type BatcherStats } from "../lib/batching/index.js";
import { hostname } from "node:os";
import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { ModelRepository, openModelCache } from "../lib/model/index.js";
import { closeNats, connectNats, PolicyStore, WorkerStore, workerKey } from "../lib/nats/index.js";
import { ServiceHost, ServiceMetrics } from "../lib/service/index.js";
import type { WorkerConfig } from "./config.js";
import { ModelRegistry } from "./model-registry.js";
import { inferenceRoutes } from "./routes.js";
import { providerList } from "./execution-providers.js";
import { LoadHealth } from "./load-health.js";
import { describeWorker, WorkerAnnouncer } from "./worker-announcer.js";
import { registerExecutionMetrics } from "./execution-metrics.js";
import { followPublished } from "./published-versions.js";
import { workerLabels } from "./worker-labels.js";

/**
 * The model worker: loads every model version of the repository into ONNX Runtime once, serves them over the
 * Open Inference Protocol v2, and follows the serving policy in NATS (a champion it has not loaded yet is
 * loaded from the repository at once). SERVING once every version is loaded and warmed up. It describes itself
 * (providers, fallbacks, model versions) in the worker bucket for the monitor, best effort.
 */
export async function startWorker(config: WorkerConfig, log: Logger): Promise<ServiceHost> {
  const metrics = new ServiceMetrics("model-worker", config.metricsAddress);
  const startedAt = new Date();
  const providers = providerList(config.executionProviders);
  const batches = new BatchMetrics(metrics.registry).batcher("model-worker");
  const cache = openModelCache(config.modelCacheDir, "model-worker");
  const repo = new ModelRepository(config.modelRepository, [cache.dir]);
  const registry = modelRegistry(config, repo, providers, log, batches.onBatch);
  batches.watch(() => queueStats(registry));
  registerExecutionMetrics(metrics.registry, registry);
  const host = new ServiceHost({
    name: "model-worker",
    address: config.address,
    credentials: config.tls.server(),
    healthAddress: config.healthAddress,
    metrics,
    log,
    drainTimeoutMs: config.drainTimeoutMs,
    serverOptions: { "grpc.max_receive_message_length": 64 << 20 },
  });
  const load = watchLoad(host, registry);
  const labels = () => workerLabels(config.labels, registry.providersInUse());
  host.add(
    GRPCInferenceService,
    inferenceRoutes(registry, () => host.isServing(), load.onQueueFull, labels),
  );
  host.onClose(() => registry.close());
  host.onClose(() => cache.close());
  await host.listen();
  await registry.sync();

  const nc = await connectNats(config.natsServers, `model-worker-${process.pid}`, config.natsIdentity, log);
  host.onClose(() => closeNats(nc));
  const announcer = workerAnnouncer(config, { startedAt, providers, registry, nc, log, labels });
  // Closed before NATS is (last registered, first closed), so that the delete can still go out.
  host.onClose(() => announcer.close());
  const reportParts = () => {
    for (const lv of registry.list())
      host.setPartStatus(`model:${lv.model}/${lv.version}`, !registry.isRetired(lv.model, lv.version));
    for (const key of registry.refused.keys()) host.setPartStatus(`model:${key}`, false);
    void announcer.publish();
  };
  const models = () => (config.models.length ? config.models : repo.models());
  const published = followPublished(nc, cache.dir, { registry, models, loaded: reportParts }, log);
  host.onClose(() => published.close());
  await published.initial(5000);
  const policies = await PolicyStore.open(nc, { trusted: config.trustedOperators });
  const watcher = await followChampions(policies, registry, reportParts, log);
  host.onClose(() => watcher.close());
  reportParts();
  announcer.start();
  load.modelsServing();
  return host;
}

/** The worker's batch queues by model version, for the metrics. */
function queueStats(registry: ModelRegistry): Record<string, BatcherStats> {
  const out: Record<string, BatcherStats> = {};
  for (const lv of registry.list()) if (lv.batcher) out[`${lv.model}/${lv.version}`] = lv.batcher.stats();
  return out;
}

function modelRegistry(
  config: WorkerConfig,
  repo: ModelRepository,
  providers: ReturnType<typeof providerList>,
  log: Logger,
  onBatch: (rows: number) => void,
): ModelRegistry {
  const options = {
    sessionOptions: { intraOpNumThreads: config.intraOpThreads, graphOptimizationLevel: "all" as const },
    providers,
    batching: {
      enabled: config.batching,
      maxBatchRows: config.maxBatchRows,
      maxQueueDelayUs: config.maxQueueDelayUs,
      maxQueueRows: config.maxQueueRows,
    },
    cacheRows: config.cacheRows,
    onBatch,
  };
  return new ModelRegistry(repo, config.models, options, log);
}

/**
 * Saturation: a refused request (full batch queue) turns health NOT_SERVING at once, so routers stop sending
 * here; it turns back once nothing was refused for a while and the queues have drained.
 */
function watchLoad(host: ServiceHost, registry: ModelRegistry) {
  const load = new LoadHealth();
  let modelsServing = false;
  const fullestQueueFill = () =>
    Math.max(
      0,
      ...registry.list().map((lv) => (lv.batcher ? lv.batcher.stats().queuedRows / lv.batcher.maxQueueRows : 0)),
    );
  const timer = setInterval(() => {
    if (load.evaluate(performance.now(), fullestQueueFill()) && modelsServing)
      host.setServing(true, "batch queues drained");
  }, 100);
  timer.unref();
  host.onClose(() => clearInterval(timer));
  return {
    onQueueFull: () => {
      if (load.refused(performance.now())) host.setServing(false, "batch queue saturated: refusing requests");
    },
    /** Every version is loaded: SERVING unless the queues are saturated. */
    modelsServing: () => {
      modelsServing = true;
      if (!load.isSaturated())
        host.setServing(
          true,
          `${registry.list().length} model versions loaded on ${registry.providersInUse().join(", ")}`,
        );
    },
  };
}

interface AnnouncerParts {
  startedAt: Date;
  providers: ReturnType<typeof providerList>;
  registry: ModelRegistry;
  nc: NatsConnection;
  log: Logger;
  labels: () => string[];
}

/** The worker's record in the worker bucket (providers, fallbacks, versions), for the monitor. */
function workerAnnouncer(config: WorkerConfig, { startedAt, providers, registry, nc, log, labels }: AnnouncerParts) {
  return new WorkerAnnouncer({
    key: workerKey(hostname(), config.address),
    describe: () =>
      describeWorker(
        {
          address: config.address,
          host: hostname(),
          pid: process.pid,
          startedAt,
          providersRequested: providers,
          versions: registry.served(),
          fallbacks: registry.providerFallbacks,
          refused: registry.refused,
          labels: labels(),
        },
        new Date(),
      ),
    open: () => WorkerStore.open(nc),
    log,
  });
}

/** Loads a new champion, canary, shadow or segment version the registry does not have yet, as soon as the serving policy names it. */
function followChampions(policies: PolicyStore, registry: ModelRegistry, loaded: () => void, log: Logger) {
  return policies.watch(
    (p) => {
      registry.champions.set(p.model, p.championVersion);
      const wanted = [
        p.championVersion,
        ...(p.canary ? [p.canary.version] : []),
        ...(p.shadow ? [p.shadow.version] : []),
        ...p.segments.map((s) => s.version),
      ];
      if (wanted.every((v) => registry.isReady(p.model, v))) return;
      log.info({ model: p.model, versions: wanted }, "a version of the policy is not loaded here: loading it");
      registry
        .sync()
        .then(loaded)
        .catch((err: unknown) => log.error({ err }, "loading models failed"));
    },
    (err, model) =>
      log.warn({ err, model }, "refused a serving policy (unreadable or not signed by a trusted operator)"),
  );
}
