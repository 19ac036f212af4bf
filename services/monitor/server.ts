import type { Logger } from "pino";
import { hostname } from "node:os";
import { MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { ServiceHost, ServiceMetrics } from "../lib/service/index.js";
import { AuditLog } from "./audit-log.js";
import { DashboardFeed } from "./dashboard/feed.js";
import { registerSegmentGauges } from "./dashboard/segment-gauges.js";
import { servingWatch } from "./dashboard/serving-watch.js";
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
import { OutcomeReporter } from "./outcomes/outcome-report.js";
import { startOutcomeViews } from "./outcomes/outcome-views.js";
import { startCost } from "./cost/start-cost.js";
import { DecisionStats } from "./stats.js";
import { WorkerTable } from "./worker-table.js";
import { watchWorkers } from "./worker-watch.js";
import { RolloutWindows } from "./rollout/windows.js";
import { DriftWatch, registerFeatureDriftGauges } from "./drift/index.js";
import { startRolloutController } from "./rollout/controller.js";
import { startAlerts } from "./alerts/start-alerts.js";
import { driftSource } from "./alerts/sources.js";
import { outcomeAlertSource } from "./outcomes/outcome-alerts.js";

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
  const workers = new WorkerTable();
  const alerts = startAlerts({
    config: config.alerts,
    drift,
    segments: dashboard.segments,
    segmentRule: config.segments,
    workers,
    registry: metrics.registry,
    natsServers: config.natsServers,
    natsIdentity: config.natsIdentity,
    log,
  });
  host.onClose(() => alerts.close());
  dashboard.alerts = alerts.engine;
  const rollouts = new RolloutWindows();
  const desk = new ReviewDesk(config.trustedOperators, log);
  const outcomes = new OutcomeDesk(config.decisionTtlDays * 86_400_000, log, Date.now, config.outcomes.window);
  const outcomeReport = new OutcomeReporter(outcomes, config.outcomes, repo);
  // Per-feature drift over the decisions window (the score keeps its own rule, score_drift).
  const driftStates = () => featureDrift.driftStates().filter((d) => d.window === "decisions" && d.feature !== "score");
  alerts.engine.add(driftSource("feature_drift", driftStates, config.drift, config.alerts.hysteresis));
  alerts.engine.add(outcomeAlertSource(outcomeReport, config.outcomes.minSample, config.alerts.hysteresis));
  const cost = startCost(config.cost, { host, outcomes: outcomeReport, repo, dashboard, registry: metrics.registry });
  host.add(
    MonitorService,
    monitorRoutes({
      stats,
      metrics,
      reviews,
      drift,
      audit,
      dashboard,
      desk,
      outcomes,
      rollouts,
      alerts,
      outcomeReport,
      cost,
      featureDrift,
    }),
  );
  if (audit) host.onClose(() => audit.close());
  await host.listen();
  registerWorkerGauges(metrics.registry, workers);
  registerDriftGauges(metrics.registry, drift);
  registerFeatureDriftGauges(metrics.registry, featureDrift);
  registerShadowGauges(metrics.registry, stats.shadows);
  registerSegmentGauges(metrics.registry, dashboard.segments);
  startOutcomeViews(outcomeReport, { host, registry: metrics.registry, dashboard });
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
    stores: [desk, outcomes, servingWatch(dashboard.cards, config.trustedOperators, log)],
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
      // Unique across hosts and containers (a container's process is often pid 1 on every replica).
      holder: `monitor-${hostname()}-${process.pid}`,
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
