import type { AlertReading, AlertStateName, AlertView } from "./reading.js";

/**
 * The next state of one alert from its previous state and a new reading (pure):
 *
 * - under the minimum sample (or a value that is not a number): ok, whatever the value;
 * - ok → pending when the value is beyond the threshold (straight to firing when `holdMs` is 0);
 * - pending → firing once it has stayed beyond the threshold for `holdMs`; back to ok as soon as it is not;
 * - firing → ok only once the value is back at or past the clear value (hysteresis), so a value hovering around
 *   the threshold does not flap.
 */
export function nextAlert(prev: AlertView | undefined, r: AlertReading, now: number, holdMs: number): AlertView {
  const was = prev?.state ?? "ok";
  const state = nextState(was, prev?.since ?? now, r, now, holdMs);
  return { ...r, state, since: prev && state === was ? prev.since : now, evaluatedAt: now };
}

function nextState(was: AlertStateName, since: number, r: AlertReading, now: number, holdMs: number): AlertStateName {
  if (!(r.sample >= r.minSample) || Number.isNaN(r.value)) return "ok";
  const beyond = (limit: number) => (r.direction === "above" ? r.value > limit : r.value < limit);
  if (was === "firing") return beyond(r.clear) ? "firing" : "ok";
  if (!beyond(r.threshold)) return "ok";
  if (was === "pending") return now - since >= holdMs ? "firing" : "pending";
  return holdMs > 0 ? "pending" : "firing";
}
