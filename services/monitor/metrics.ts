import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { Decision, Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { DecisionRecord } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { ScoreDriftWatch } from "./score-drift.js";
import { TenantLabel } from "./tenant-label.js";
import type { WorkerTable } from "./worker-table.js";

/** Prometheus metrics of the mesh's decisions, served on /metrics. */
export class DecisionMetrics {
  readonly registry = new Registry();
  private readonly decisions = new Counter({
    name: "scoremesh_decisions_total",
    help: "Decisions made by the mesh.",
    labelNames: ["model", "version", "decision", "route", "degraded", "tenant"] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "scoremesh_router_latency_seconds",
    help: "Time the router spent on a decision (policy, worker call, mapping).",
    labelNames: ["model", "version"] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  private readonly score = new Histogram({
    name: "scoremesh_score",
    help: "Distribution of scores (probability of the positive class).",
    labelNames: ["model", "version"] as const,
    buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    registers: [this.registry],
  });
  readonly received = new Counter({
    name: "scoremesh_monitor_records_received_total",
    help: "Decision records received from routers.",
    registers: [this.registry],
  });

  /** At most 50 tenants by name on the decision counter; the rest are "other". */
  private readonly tenant = new TenantLabel(50);

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "scoremesh_monitor_" });
  }

  add(r: DecisionRecord): void {
    const version = r.modelVersion;
    this.decisions.inc({
      model: r.model,
      version,
      decision: (Decision[r.decision] ?? "UNSPECIFIED").toLowerCase(),
      route: (Route[r.route] ?? "UNSPECIFIED").toLowerCase(),
      degraded: String(r.degraded),
      tenant: this.tenant.of(r.tenantId),
    });
    this.latency.observe({ model: r.model, version }, r.latencyMs / 1000);
    this.score.observe({ model: r.model, version }, r.score);
  }
}

/**
 * Gauges of the model workers in `table`, read at each scrape (a worker that is gone has no series):
 * `scoremesh_worker_cpu_fallback` (1 when the worker asked for CUDA or TensorRT and runs on CPU) and
 * `scoremesh_worker_model_versions_ready`.
 */
/** PSI of each watched version's recent scores against its reference profile (the drift readings, on scrape). */
export function registerDriftGauges(registry: Registry, drift: ScoreDriftWatch): void {
  new Gauge({
    name: "scoremesh_score_psi",
    help: "Population stability index of a model version's last decisions' scores against its reference profile (0.1 warn, 0.25 alert; absent below the minimum sample).",
    labelNames: ["model", "version"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of drift.readings())
        if (d.level !== "insufficient") this.set({ model: d.model, version: d.version }, d.psi);
    },
  });
}

export function registerWorkerGauges(registry: Registry, table: WorkerTable): void {
  new Gauge({
    name: "scoremesh_worker_cpu_fallback",
    help: "1 when a model worker asked for an accelerator execution provider (cuda, tensorrt) that could not load, and runs on CPU.",
    labelNames: ["worker", "instance"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const w of table.list(Date.now()))
        this.set({ worker: w.address, instance: w.instance }, w.cpuFallback ? 1 : 0);
    },
  });
  new Gauge({
    name: "scoremesh_worker_model_versions_ready",
    help: "Model versions a model worker has loaded and warmed up.",
    labelNames: ["worker", "instance"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const w of table.list(Date.now())) this.set({ worker: w.address, instance: w.instance }, w.ready.length);
    },
  });
}
