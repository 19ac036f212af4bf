import type { AlertView } from "./reading.js";

/** An alert in /dashboard.json (the page's "Alerts" panel): snake_case, times as ISO strings. */
export function alertJson(a: AlertView) {
  return {
    rule: a.rule,
    model: a.model,
    version: a.version,
    subject: a.subject,
    state: a.state,
    value: a.value,
    threshold: a.threshold,
    clear: a.clear,
    direction: a.direction,
    sample: a.sample,
    min_sample: a.minSample,
    since: new Date(a.since).toISOString(),
  };
}
