import type { Logger } from "pino";
import { MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { ServiceHost, ServiceMetrics } from "../lib/service/index.js";
import { AuditLog } from "./audit-log.js";
import { DashboardFeed } from "./dashboard/feed.js";
import { registerSegmentGauges } from "./dashboard/segment-gauges.js";
import type { MonitorConfig } from "./config.js";
import { startHttpPage } from "./http-page.js";
import { DecisionMetrics, registerDriftGauges, registerWorkerGauges } from "./metrics.js";
import { ScoreDriftWatch } from "./score-drift.js";
import { ModelRepository } from "../lib/model/index.js";
import { registerShadowGauges } from "./shadow-pairs.js";
import { ReviewQueue } from "./review-queue.js";
import { monitorRoutes } from "./routes.js";
import { ReviewDesk } from "./reviews/review-desk.js";
import { connectMonitorStores } from "./monitor-stores.js";
import { OutcomeDesk } from "./outcomes/outcome-desk.js";
import { DecisionStats } from "./stats.js";
import { WorkerTable } from "./worker-table.js";
import { watchWorkers } from "./worker-watch.js";
import { RolloutWindows } from "./rollout/windows.js";
import { DriftWatch, registerFeatureDriftGauges } from "./drift/index.js";
import { startRolloutController } from "./rollout/controller.js";

/**
 * The monitor: receives decision records, counts them, keeps the review queue, follows the model workers'
 * records in NATS (providers, CPU fallback, model versions), serves a page and Prometheus metrics.
 */
export async function startMonitor(config: MonitorConfig, log: Logger): Promise<ServiceHost> {
  const stats = new DecisionStats();
  const metrics = new DecisionMetrics();
  const reviews = new ReviewQueue({ max: config.reviewQueueMax });
  const repo = new ModelRepository(config.modelRepository);
  const drift = new ScoreDriftWatch(repo, config.driftWindow);
  const featureDrift = new DriftWatch(repo, config.drift);
  const dashboard = new DashboardFeed(repo, config.segments);
  const audit = config.auditLogPath ? new AuditLog(config.auditLogPath) : undefined;
  const host = new ServiceHost({
    name: "monitor",
    address: config.address,
    credentials: config.tls.server(),
    healthAddress: config.healthAddress,
    // The monitor's RPCs are counted in its decision registry, served on its page's /metrics.
    metrics: new ServiceMetrics("monitor", undefined, metrics.registry),
    log,
    drainTimeoutMs: config.drainTimeoutMs,
  });
  const rollouts = new RolloutWindows();
  const desk = new ReviewDesk(config.trustedOperators, log);
  const outcomes = new OutcomeDesk(config.decisionTtlDays * 86_400_000, log);
  host.add(
    MonitorService,
    monitorRoutes({ stats, metrics, reviews, drift, audit, dashboard, desk, outcomes, rollouts, featureDrift }),
  );
  if (audit) host.onClose(() => audit.close());
  await host.listen();
  const workers = new WorkerTable();
  registerWorkerGauges(metrics.registry, workers);
  registerDriftGauges(metrics.registry, drift);
  registerFeatureDriftGauges(metrics.registry, featureDrift);
  registerShadowGauges(metrics.registry, stats.shadows);
  registerSegmentGauges(metrics.registry, dashboard.segments);
  const workerWatch = watchWorkers({
    natsServers: config.natsServers,
    natsIdentity: config.natsIdentity,
    table: workers,
    log,
  });
  host.onClose(() => workerWatch.close());
  const stores = connectMonitorStores({
    natsServers: config.natsServers,
    natsIdentity: config.natsIdentity,
    stores: [desk, outcomes],
    log,
  });
  host.onClose(() => stores.close());
  if (config.rollout) {
    const controller = startRolloutController({
      ...config.rollout,
      natsServers: config.natsServers,
      natsIdentity: config.natsIdentity,
      windows: rollouts,
      log,
      holder: `monitor-${process.pid}`,
    });
    host.onClose(() => controller.close());
  }
  const http = await startHttpPage({
    address: config.httpAddress,
    stats,
    metrics,
    reviews,
    workers,
    workerWatch,
    drift,
    dashboard,
    featureDrift,
  });
  host.onClose(() => new Promise<void>((r) => http.server.close(() => r())));
  log.info(
    { address: config.httpAddress, port: http.port, auditLog: config.auditLogPath || undefined },
    "monitor page and /metrics started",
  );
  host.setServing(true, "ready to record");
  return host;
}
