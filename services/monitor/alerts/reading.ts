/** Where a rule stands: within its threshold, beyond it for less than the hold time, or beyond it for longer. */
export type AlertStateName = "ok" | "pending" | "firing";

/** Which side of the threshold is bad. */
export type AlertDirection = "above" | "below";

/**
 * One rule's value on one model version (and subject) at one evaluation, as a source reports it. The engine
 * decides the state from it; a source only measures.
 */
export interface AlertReading {
  /** e.g. "error_rate", "latency_p99", "score_drift", "segment_ratio", "outcome_band", "breaker_open", "cpu_fallback". */
  rule: string;
  model: string;
  version: string;
  /** What within the version: a segment attribute, a worker address, a feature, a tier; "" for the version. */
  subject: string;
  value: number;
  /** Beyond this (strictly, on `direction`'s side) the rule goes pending, then firing. */
  threshold: number;
  /** A firing alert clears only once the value is back at or past this (hysteresis). */
  clear: number;
  direction: AlertDirection;
  /** Observations behind the value; under `minSample` the rule is ok whatever the value. */
  sample: number;
  minSample: number;
}

/** Something the engine reads at each evaluation: a window of decisions, the drift watch, the breaker table. */
export interface AlertSource {
  readings(now: number): AlertReading[];
}

/** A rule's current alert: its last reading, its state and since when it is in that state. */
export interface AlertView extends AlertReading {
  state: AlertStateName;
  /** Epoch ms of the change into `state` (the first evaluation, for an alert that has always been ok). */
  since: number;
  evaluatedAt: number;
}

/** A change of state at an evaluation: what is published on NATS. */
export interface AlertChange {
  alert: AlertView;
  previous: AlertStateName;
}

/** The clear value of a threshold with hysteresis `h` (a fraction): 10 % under an upper bound, 10 % over a lower one. */
export function clearOf(threshold: number, direction: AlertDirection, h: number): number {
  const clear = direction === "above" ? threshold * (1 - h) : threshold * (1 + h);
  return Number(clear.toPrecision(12)); // 0.045, not 0.045000000000000005, in lists and on the page
}

/** The key of a rule's alert: rule, model, version and subject. */
export function alertKey(r: Pick<AlertReading, "rule" | "model" | "version" | "subject">): string {
  return `${r.rule}\u0000${r.model}\u0000${r.version}\u0000${r.subject}`;
}
