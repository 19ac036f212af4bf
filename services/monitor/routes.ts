import type { ServiceImpl } from "@connectrpc/connect";
import { MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { AuditLog } from "./audit-log.js";
import type { DashboardFeed } from "./dashboard/feed.js";
import type { DecisionMetrics } from "./metrics.js";
import type { ReviewQueue } from "./review-queue.js";
import type { ReviewDesk } from "./reviews/review-desk.js";
import { durableCases, reviewRoutes } from "./reviews/review-routes.js";
import type { OutcomeDesk } from "./outcomes/outcome-desk.js";
import type { OutcomeReporter } from "./outcomes/outcome-report.js";
import { outcomeRoutes } from "./outcomes/outcome-routes.js";
import type { CostReport } from "./cost/cost-report.js";
import { costRoutes } from "./cost/cost-routes.js";
import type { ScoreDriftWatch } from "./score-drift.js";
import type { DecisionStats } from "./stats.js";
import type { RolloutWindows } from "./rollout/windows.js";
import { alertRoutes } from "./alerts/alert-routes.js";
import type { MonitorAlerts } from "./alerts/start-alerts.js";
import { getDriftResponse, type DriftWatch } from "./drift/index.js";

export function monitorRoutes(deps: {
  stats: DecisionStats;
  metrics: DecisionMetrics;
  reviews: ReviewQueue;
  drift?: ScoreDriftWatch;
  audit?: AuditLog;
  dashboard?: Pick<DashboardFeed, "add">;
  /** The durable review workflow (absent in tests of the rest). */
  desk?: ReviewDesk;
  /** Decisions kept for outcomes, and the outcomes joined to them. */
  outcomes?: OutcomeDesk;
  rollouts?: RolloutWindows;
  /** The alert engine (its decision windows take every decision; ListAlerts lists its alerts). */
  alerts?: Pick<MonitorAlerts, "engine" | "windows" | "intervalMs">;
  /** Outcomes per version and tier (GetOutcomes). */
  outcomeReport?: OutcomeReporter;
  /** Cost per 1,000 decisions (GetCost); absent when MONITOR_COST_TARGETS is unset. */
  cost?: CostReport;
  /** Online drift per feature, score and segment (GetDrift). */
  featureDrift?: DriftWatch;
}): Partial<ServiceImpl<typeof MonitorService>> {
  return {
    async record(req) {
      // Shadow records are champion/shadow pairs, not decisions: counted apart, kept out of the audit and stats.
      const records = req.records.filter((r) => !r.shadowOf);
      if (deps.audit && records.length > 0) await deps.audit.append(records);
      // The in-memory views first: the durable stores below may wait up to a second on NATS, and the rollout
      // controller's windows, the page and the counts must not lag behind them.
      for (const r of req.records) if (r.shadowOf) deps.stats.shadows.add(r);
      for (const r of req.records) deps.dashboard?.add(r);
      for (const r of records) {
        deps.stats.add(r);
        deps.metrics.add(r);
        deps.reviews.offer(r);
        deps.drift?.add(r);
        deps.featureDrift?.add(r);
        deps.rollouts?.add(r);
        deps.alerts?.windows.add(r, Date.now());
      }
      deps.metrics.received.inc(records.length);
      await Promise.all([deps.desk?.offer(records), deps.outcomes?.index(records)]);
      return { accepted: req.records.length };
    },
    async getStats() {
      const s = deps.stats;
      const outcomes = (await deps.outcomes?.counts()) ?? [];
      return {
        decisionsTotal: BigInt(s.total),
        versions: [...s.versions.values()].map((c) => ({
          model: c.model,
          modelVersion: c.modelVersion,
          decisions: BigInt(c.decisions),
          approve: BigInt(c.approve),
          review: BigInt(c.review),
          decline: BigInt(c.decline),
          degraded: BigInt(c.degraded),
          meanScore: c.decisions ? c.scoreSum / c.decisions : 0,
        })),
        latencyP50Ms: s.latencyQuantile(0.5),
        latencyP95Ms: s.latencyQuantile(0.95),
        latencyP99Ms: s.latencyQuantile(0.99),
        shadows: s.shadows.list().map((a) => ({ ...a, pairs: BigInt(a.pairs) })),
        outcomes,
      };
    },
    async listReviews(req) {
      const model = req.model || undefined;
      const limit = req.pageSize || 100;
      return {
        cases: deps.reviews.list({ limit, model }),
        total: BigInt(deps.reviews.totalOf(model)),
        queued: BigInt(deps.reviews.queued(model)),
        reviewCases: await durableCases(deps.desk, { limit, model, includeResolved: req.includeResolved }),
      };
    },
    getDrift(req) {
      return deps.featureDrift ? getDriftResponse(deps.featureDrift, req.model) : {};
    },
    ...(deps.desk ? reviewRoutes(deps.desk, deps.outcomes) : {}),
    ...alertRoutes(deps.alerts),
    ...outcomeRoutes(deps.outcomeReport),
    ...costRoutes(deps.cost),
  };
}
