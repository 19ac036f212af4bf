import { Gauge, type Registry } from "prom-client";
import type { AlertEngine } from "./engine.js";
import type { AlertStateName, AlertView } from "./reading.js";

/** scoremesh_alert_state's values. */
export const ALERT_STATE_VALUE: Record<AlertStateName, number> = { ok: 0, pending: 1, firing: 2 };

/**
 * The engine's alerts on /metrics, read at each scrape: `scoremesh_alert_state{rule, model, version, subject}`
 * (0 ok, 1 pending, 2 firing), `scoremesh_alert_value` and `scoremesh_alert_threshold` (same labels).
 */
export function registerAlertGauges(registry: Registry, engine: Pick<AlertEngine, "list">): void {
  const labelNames = ["rule", "model", "version", "subject"] as const;
  const reading = (read: (a: AlertView) => number) =>
    function collect(this: Gauge<(typeof labelNames)[number]>) {
      this.reset();
      for (const a of engine.list())
        this.set({ rule: a.rule, model: a.model, version: a.version, subject: a.subject }, read(a));
    };
  new Gauge({
    name: "scoremesh_alert_state",
    help: "State of a monitor alert rule on a model version (0 ok, 1 pending, 2 firing).",
    labelNames,
    registers: [registry],
    collect: reading((a) => ALERT_STATE_VALUE[a.state]),
  });
  new Gauge({
    name: "scoremesh_alert_value",
    help: "Value of a monitor alert rule at its last evaluation.",
    labelNames,
    registers: [registry],
    collect: reading((a) => a.value),
  });
  new Gauge({
    name: "scoremesh_alert_threshold",
    help: "Threshold of a monitor alert rule.",
    labelNames,
    registers: [registry],
    collect: reading((a) => a.threshold),
  });
}
