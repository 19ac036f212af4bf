import { Gauge, type Registry } from "prom-client";
import type { DecisionRecord } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";

/** The running aggregate of one (model, champion version, shadow version). */
export interface ShadowAggregate {
  model: string;
  championVersion: string;
  shadowVersion: string;
  pairs: number;
  /** Mean |shadow score − champion score| over the pairs. */
  meanAbsScoreDiff: number;
  /** Share of pairs whose decisions agree, in [0, 1]. */
  agreementRate: number;
}

interface Sums {
  model: string;
  championVersion: string;
  shadowVersion: string;
  pairs: number;
  absDiffSum: number;
  agree: number;
}

/**
 * Running aggregates of champion/shadow pairs (shadow records: DecisionRecord.shadow_of set) per (model,
 * champion version, shadow version): pairs, mean |score difference|, decision agreement rate. Pure: no I/O.
 *
 * @example
 *   pairs.add(record); // a record with shadowOf
 *   pairs.list(); // [{ model: "credit-default", championVersion: "3", shadowVersion: "4", pairs: 812, ... }]
 */
export class ShadowPairs {
  private readonly sums = new Map<string, Sums>();

  /** Adds a shadow record; false (and nothing counted) for a record that is no shadow record. */
  add(r: DecisionRecord): boolean {
    const of = r.shadowOf;
    if (!of) return false;
    const key = JSON.stringify([r.model, of.championVersion, r.modelVersion]);
    let s = this.sums.get(key);
    if (!s) {
      s = {
        model: r.model,
        championVersion: of.championVersion,
        shadowVersion: r.modelVersion,
        pairs: 0,
        absDiffSum: 0,
        agree: 0,
      };
      this.sums.set(key, s);
    }
    s.pairs++;
    s.absDiffSum += Math.abs(r.score - of.championScore);
    if (r.decision === of.championDecision) s.agree++;
    return true;
  }

  list(): ShadowAggregate[] {
    return [...this.sums.values()].map((s) => ({
      model: s.model,
      championVersion: s.championVersion,
      shadowVersion: s.shadowVersion,
      pairs: s.pairs,
      meanAbsScoreDiff: s.pairs ? s.absDiffSum / s.pairs : 0,
      agreementRate: s.pairs ? s.agree / s.pairs : 0,
    }));
  }
}

/**
 * Gauges of the shadow pairs, read at each scrape: `scoremesh_shadow_pairs`, `scoremesh_shadow_mean_abs_score_diff`
 * and `scoremesh_shadow_decision_agreement`, labelled model, champion, shadow.
 */
export function registerShadowGauges(registry: Registry, pairs: ShadowPairs): void {
  const gauge = (name: string, help: string, value: (a: ShadowAggregate) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["model", "champion", "shadow"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const a of pairs.list())
          this.set({ model: a.model, champion: a.championVersion, shadow: a.shadowVersion }, value(a));
      },
    });
  gauge("scoremesh_shadow_pairs", "Champion/shadow pairs received since the monitor started.", (a) => a.pairs);
  gauge(
    "scoremesh_shadow_mean_abs_score_diff",
    "Mean |shadow score - champion score| over the pairs.",
    (a) => a.meanAbsScoreDiff,
  );
  gauge("scoremesh_shadow_decision_agreement", "Share of pairs whose decisions agree (0..1).", (a) => a.agreementRate);
}
