import type { AlertSource } from "../alerts/reading.js";
import { outcomeBandSource } from "../alerts/sources.js";
import { bandReadingsOf, type OutcomeReporter } from "./outcome-report.js";

/**
 * The outcome-band rule's source: each evaluation reads the last computed outcomes (`latest`) and starts the next
 * read from the durable windows in the background (one at a time), so the engine's timer never waits on NATS.
 */
export function outcomeAlertSource(
  report: Pick<OutcomeReporter, "latest" | "versions">,
  minSample: number,
  hysteresis: number,
): AlertSource {
  let reading = false;
  const refresh = () => {
    if (reading) return;
    reading = true;
    report
      .versions()
      .catch(() => undefined) // NATS away: the last outcomes hold
      .finally(() => (reading = false));
  };
  return outcomeBandSource(() => {
    refresh();
    return bandReadingsOf(report.latest).map((o) => ({
      model: o.model,
      version: o.version,
      tier: o.tier,
      realised: o.realised,
      low: Math.max(0, o.predicted - o.band), // a rate cannot fall below 0
      high: o.predicted + o.band,
      sample: o.outcomes,
      minSample,
    }));
  }, hysteresis);
}
