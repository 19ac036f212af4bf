import { Gauge, type Registry } from "prom-client";
import type { AlertEngine } from "./engine.js";
import type { AlertStateName } from "./reading.js";

/** scoremesh_alert_state's values. */
export const ALERT_STATE_VALUE: Record<AlertStateName, number> = { ok: 0, pending: 1, firing: 2 };

/**
 * The engine's alerts on /metrics, read at each scrape: `scoremesh_alert_state{rule, model, version, subject}`
 * (0 ok, 1 pending, 2 firing), `scoremesh_alert_value` and `scoremesh_alert_threshold` (same labels).
 */
export function registerAlertGauges(registry: Registry, engine: Pick<AlertEngine, "list">): void {
  const labelNames = ["rule", "model", "version", "subject"] as const;
  const gauge = (name: string, help: string, read: (a: ReturnType<AlertEngine["list"]>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const a of engine.list())
          this.set({ rule: a.rule, model: a.model, version: a.version, subject: a.subject }, read(a));
      },
    });
  gauge(
    "scoremesh_alert_state",
    "State of a monitor alert rule on a model version (0 ok, 1 pending, 2 firing).",
    (a) => ALERT_STATE_VALUE[a.state],
  );
  gauge("scoremesh_alert_value", "Value of a monitor alert rule at its last evaluation.", (a) => a.value);
  gauge("scoremesh_alert_threshold", "Threshold of a monitor alert rule.", (a) => a.threshold);
}
