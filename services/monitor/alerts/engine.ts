import { alertKey, type AlertChange, type AlertSource, type AlertStateName, type AlertView } from "./reading.js";
import { nextAlert } from "./step.js";

export interface AlertEngineOptions {
  /** How long a value must stay beyond its threshold before pending becomes firing (MONITOR_ALERTS_HOLD_MS). */
  holdMs: number;
  /** Called when a source throws; its alerts keep their last state until it reads again. */
  onSourceError?: (err: unknown) => void;
}

const ORDER: Record<AlertStateName, number> = { firing: 0, pending: 1, ok: 2 };

/**
 * The monitor's alerts: reads every source at each `evaluate(now)` and moves each rule's alert through ok →
 * pending → firing → ok (see `nextAlert`). Returns the changes of state, for the caller to publish. An alert
 * whose reading is gone (a version no longer seen, a worker that left) is dropped, with a change to ok if it was
 * not ok. Pure: the caller passes the time (a fake clock in tests) and runs it off the request path.
 *
 * @example
 *   const engine = new AlertEngine([windows, drift], { holdMs: 30_000 });
 *   setInterval(() => publish(engine.evaluate(Date.now())), 5000);
 */
export class AlertEngine {
  private readonly alerts = new Map<string, { view: AlertView; source: AlertSource }>();

  constructor(
    private readonly sources: AlertSource[],
    private readonly opts: AlertEngineOptions,
  ) {}

  /** Adds a source (e.g. per-feature drift or outcome bands, once they exist). */
  add(source: AlertSource): void {
    this.sources.push(source);
  }

  evaluate(now: number): AlertChange[] {
    const changes: AlertChange[] = [];
    const seen = new Set<string>();
    for (const source of this.sources) {
      let readings;
      try {
        readings = source.readings(now);
      } catch (err) {
        this.opts.onSourceError?.(err);
        for (const [key, a] of this.alerts) if (a.source === source) seen.add(key);
        continue;
      }
      for (const r of readings) {
        const key = alertKey(r);
        seen.add(key);
        const prev = this.alerts.get(key)?.view;
        const view = nextAlert(prev, r, now, this.opts.holdMs);
        this.alerts.set(key, { view, source });
        const previous = prev?.state ?? "ok";
        if (view.state !== previous) changes.push({ alert: view, previous });
      }
    }
    for (const [key, a] of this.alerts) {
      if (seen.has(key)) continue;
      this.alerts.delete(key);
      if (a.view.state !== "ok")
        changes.push({ alert: { ...a.view, state: "ok", since: now, evaluatedAt: now }, previous: a.view.state });
    }
    return changes;
  }

  /** Every current alert, firing first, then pending, then ok; by rule, model, version and subject within each. */
  list(filter: { model?: string; activeOnly?: boolean } = {}): AlertView[] {
    return [...this.alerts.values()]
      .map((a) => a.view)
      .filter(
        (a) => (filter.model === undefined || a.model === filter.model) && (!filter.activeOnly || a.state !== "ok"),
      )
      .sort((a, b) => ORDER[a.state] - ORDER[b.state] || alertKey(a).localeCompare(alertKey(b)));
  }
}
