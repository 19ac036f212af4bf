import type { Registry } from "prom-client";
import type { Logger } from "pino";
import type { NatsClientIdentity } from "../../lib/nats/index.js";
import { DEFAULT_DRIFT_THRESHOLDS } from "../../lib/stats/index.js";
import type { SegmentView } from "../dashboard/segments.js";
import type { ScoreDriftWatch } from "../score-drift.js";
import type { WorkerTable } from "../worker-table.js";
import { registerAlertGauges } from "./alert-metrics.js";
import { startAlertNats } from "./alert-nats.js";
import { BreakerTable } from "./breaker-table.js";
import type { AlertsConfig } from "./config.js";
import { DecisionWindows } from "./decision-windows.js";
import { AlertEngine } from "./engine.js";
import type { AlertChange } from "./reading.js";
import { driftSource, fallbackSource, segmentSource } from "./sources.js";

export interface MonitorAlerts {
  engine: AlertEngine;
  /** Where the Record handler puts decisions (the error-rate and p99 windows). */
  windows: DecisionWindows;
  intervalMs: number;
  close(): Promise<void>;
}

/**
 * The monitor's alert engine: its sources (decision windows, score drift, segment ratios, breakers, CPU
 * fallback), evaluated every `intervalMs` on a timer (never on the request path), each change of state logged,
 * published on NATS and exported on /metrics. Per-feature drift and outcome bands join with `engine.add(...)`.
 */
export function startAlerts(opts: {
  config: AlertsConfig;
  drift: Pick<ScoreDriftWatch, "readings">;
  segments: Pick<SegmentView, "view">;
  segmentRule: { bound: number; minSample: number };
  workers: Pick<WorkerTable, "list">;
  registry: Registry;
  natsServers: string[];
  natsIdentity: NatsClientIdentity;
  log: Logger;
}): MonitorAlerts {
  const { config: c, log } = opts;
  const windows = new DecisionWindows({ ...c, size: c.window, maxAgeMs: c.windowMs });
  const breakers = new BreakerTable();
  const engine = new AlertEngine(
    [
      windows,
      driftSource("score_drift", () => opts.drift.readings(), DEFAULT_DRIFT_THRESHOLDS, c.hysteresis),
      segmentSource(opts.segments, opts.segmentRule, c.hysteresis),
      breakers,
      fallbackSource(opts.workers),
    ],
    { holdMs: c.holdMs, onSourceError: (err) => log.warn({ err }, "an alert source failed; its alerts hold") },
  );
  registerAlertGauges(opts.registry, engine);
  if (c.intervalMs === 0) return { engine, windows, intervalMs: 0, close: async () => {} };
  const nats = startAlertNats({ ...opts, breakers });
  const timer = setInterval(() => {
    const changes = engine.evaluate(Date.now());
    logChanges(log, changes);
    nats.publish(changes);
  }, c.intervalMs).unref();
  return {
    engine,
    windows,
    intervalMs: c.intervalMs,
    async close() {
      clearInterval(timer);
      await nats.close();
    },
  };
}

/** One log line per change of state (no personal data: rule, model, version, subject, values). */
function logChanges(log: Logger, changes: readonly AlertChange[]): void {
  for (const { alert: a, previous } of changes) {
    const { rule, model, version, subject, state, value, threshold } = a;
    log.info({ rule, model, version, subject, state, previous, value, threshold }, "alert state changed");
  }
}
