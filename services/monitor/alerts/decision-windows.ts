import type { DecisionRecord } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { clearOf, type AlertReading, type AlertSource } from "./reading.js";

export interface DecisionWindowOptions {
  /** Decisions per version kept (the newest): MONITOR_ALERTS_WINDOW. */
  size: number;
  /** Decisions older than this leave the window: MONITOR_ALERTS_WINDOW_MS. */
  maxAgeMs: number;
  /** Decisions a window needs before either rule may leave ok: MONITOR_ALERTS_MIN_SAMPLE. */
  minSample: number;
  /** Degraded share (fallback model, rules, cache) above which error_rate fires: MONITOR_ALERTS_ERROR_RATE. */
  errorRate: number;
  /** Router latency p99 (ms) above which latency_p99 fires: MONITOR_ALERTS_P99_MS. */
  p99Ms: number;
  /** Hysteresis, a fraction of the threshold: MONITOR_ALERTS_HYSTERESIS. */
  hysteresis: number;
}

/** A ring of one version's newest decisions: when, degraded or not, the router's latency. */
class Ring {
  readonly at: Float64Array;
  readonly latency: Float64Array;
  readonly degraded: Uint8Array;
  head = 0; // index of the oldest
  count = 0;

  constructor(readonly size: number) {
    this.at = new Float64Array(size);
    this.latency = new Float64Array(size);
    this.degraded = new Uint8Array(size);
  }

  push(at: number, degraded: boolean, latencyMs: number): void {
    const i = (this.head + this.count) % this.size;
    this.at[i] = at;
    this.degraded[i] = degraded ? 1 : 0;
    this.latency[i] = latencyMs;
    if (this.count < this.size) this.count++;
    else this.head = (this.head + 1) % this.size;
  }

  /** Drops the decisions recorded before `oldest`. */
  prune(oldest: number): void {
    while (this.count > 0 && this.at[this.head]! < oldest) {
      this.head = (this.head + 1) % this.size;
      this.count--;
    }
  }

  indices(): number[] {
    return Array.from({ length: this.count }, (_, k) => (this.head + k) % this.size);
  }
}

/**
 * The error-rate and p99 rules: per model version, a window of its newest `size` decisions no older than
 * `maxAgeMs`. error_rate is the degraded share (the answer came from a fallback model, the rules or the cache:
 * the version's own call failed or its breaker was open); failed calls that reached no decision have no record,
 * and are counted at the edge and router (`rpc_server_requests_total`, the Prometheus rules). latency_p99 is the
 * nearest-rank 99th percentile of the router's time per decision. Pure: `add` and `readings` take the time.
 */
export class DecisionWindows implements AlertSource {
  private readonly rings = new Map<string, { model: string; version: string; ring: Ring }>();

  constructor(private readonly opts: DecisionWindowOptions) {}

  add(r: DecisionRecord, now: number): void {
    const key = `${r.model}/${r.modelVersion}`;
    let w = this.rings.get(key);
    if (!w) this.rings.set(key, (w = { model: r.model, version: r.modelVersion, ring: new Ring(this.opts.size) }));
    w.ring.push(now, r.degraded, r.latencyMs);
  }

  readings(now: number): AlertReading[] {
    const o = this.opts;
    const out: AlertReading[] = [];
    for (const { model, version, ring } of this.rings.values()) {
      ring.prune(now - o.maxAgeMs);
      const idx = ring.indices();
      const degraded = idx.reduce((s, i) => s + ring.degraded[i]!, 0);
      const base = { model, version, subject: "", sample: idx.length, minSample: o.minSample };
      out.push({
        ...base,
        rule: "error_rate",
        value: idx.length ? degraded / idx.length : 0,
        threshold: o.errorRate,
        clear: clearOf(o.errorRate, "above", o.hysteresis),
        direction: "above",
      });
      out.push({
        ...base,
        rule: "latency_p99",
        value: p99(idx.map((i) => ring.latency[i]!)),
        threshold: o.p99Ms,
        clear: clearOf(o.p99Ms, "above", o.hysteresis),
        direction: "above",
      });
    }
    return out;
  }
}

/** Nearest-rank 99th percentile; 0 when empty. */
function p99(values: number[]): number {
  if (values.length === 0) return 0;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.ceil(0.99 * values.length) - 1)]!;
}
