import { Gauge, type Registry } from "prom-client";
import type { ModelRepository } from "../../lib/model/index.js";
import type { ServiceHost } from "../../lib/service/index.js";
import type { CostConfig } from "../config.js";
import type { DashboardFeed } from "../dashboard/feed.js";
import type { OutcomeReporter } from "../outcomes/outcome-report.js";
import { CostReport } from "./cost-report.js";
import { UsageScraper } from "./usage-scraper.js";

/**
 * Starts scraping MONITOR_COST_TARGETS every MONITOR_COST_INTERVAL_MS (stopped when the host closes), and
 * exposes the cost as gauges and as the dashboard's "cost" section. Undefined when no targets are configured.
 */
export function startCost(
  config: CostConfig,
  parts: {
    host: Pick<ServiceHost, "onClose">;
    outcomes: Pick<OutcomeReporter, "latest">;
    repo: Pick<ModelRepository, "card">;
    dashboard: Pick<DashboardFeed, "sections">;
    registry: Registry;
  },
): CostReport | undefined {
  if (config.targets.length === 0) return undefined;
  const scraper = new UsageScraper(config.targets);
  const cost = new CostReport(scraper, config.prices, parts.outcomes, parts.repo);
  const running = scraper.start(config.intervalMs);
  parts.host.onClose(() => running.close());
  parts.dashboard.sections.set("cost", () => costSection(cost));
  registerCostGauges(parts.registry, cost);
  return cost;
}

/** The dashboard's cost section: per service and per version (all routes), with the AUCs. */
function costSection(cost: CostReport) {
  const r = cost.report();
  return {
    period_seconds: r.periodSeconds,
    decisions: Number(r.decisions),
    price_core_hour: r.priceCoreHour,
    price_gpu_hour: r.priceGpuHour,
    services: r.services.map((s) => ({
      service: s.service,
      instances: s.instances,
      cpu_seconds_per_1000: s.cpuSecondsPer1000,
    })),
    versions: r.versions
      .filter((v) => v.route === undefined)
      .map((v) => ({
        model: v.model,
        version: v.modelVersion,
        decisions: Number(v.decisions),
        cpu_seconds_per_1000: v.cpuSecondsPer1000,
        gpu_seconds_per_1000: v.gpuSecondsPer1000,
        cost_per_1000: v.costPer1000,
        card_auc: v.cardAuc ?? null,
        rolling_auc: v.rollingAuc ?? null,
      })),
    unreachable: r.unreachable,
  };
}

/** The cost gauges on /metrics, read from the report at each scrape. */
export function registerCostGauges(registry: Registry, cost: CostReport): void {
  new Gauge({
    name: "scoremesh_cost_service_cpu_seconds_per_1000_decisions",
    help: "CPU-seconds a service used per 1,000 decisions of the mesh since the monitor's first scrape.",
    labelNames: ["service"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of cost.report().services) this.set({ service: s.service }, s.cpuSecondsPer1000);
    },
  });
  new Gauge({
    name: "scoremesh_cost_per_1000_decisions",
    help: "Price of 1,000 decisions of a model version (CPU and GPU time apportioned, times MONITOR_PRICE_*).",
    labelNames: ["model", "version"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const v of cost.report().versions)
        if (v.route === undefined) this.set({ model: v.model, version: v.modelVersion }, v.costPer1000);
    },
  });
}
