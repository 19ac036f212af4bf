import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { DecisionRecord } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";

/** Route names by enum value, lower case (primary, canary, …), built once. */
const ROUTE_NAMES = Object.values(Route)
  .filter((v): v is Route => typeof v === "number")
  .reduce<string[]>((names, v) => ((names[v] = Route[v].toLowerCase()), names), []);

/** Score bins of the dashboard's distributions: 20 of width 0.05 over [0, 1]. */
export const SCORE_BINS = 20;

interface Mix {
  model: string;
  version: string;
  /** "decision" for the decisions a version made, "shadow" for its shadow scores (no decision). */
  kind: "decision" | "shadow";
  scores: number[];
  routes: Map<string, number>;
}

export interface ScoreMixView {
  model: string;
  version: string;
  /** champion (most decisions on the primary route), canary, shadow, or the most frequent other route. */
  role: string;
  decisions: number;
  /** Decisions by route (primary, canary, fallback_model, rules, cache); shadow scores under "shadow". */
  routes: Record<string, number>;
  /** Counts per score bin (SCORE_BINS of width 1/SCORE_BINS). */
  score_bins: number[];
}

/**
 * Per model version, since the monitor started: decisions by route and the score distribution (the champion's,
 * the canary's, and the shadow version's from its shadow records). Pure: no I/O; O(1) per record.
 */
export class ScoreMix {
  private readonly mixes = new Map<string, Mix>();

  add(r: DecisionRecord): void {
    const kind = r.shadowOf ? "shadow" : "decision";
    const key = `${kind}/${r.model}/${r.modelVersion}`;
    let m = this.mixes.get(key);
    if (!m) {
      m = {
        model: r.model,
        version: r.modelVersion,
        kind,
        scores: new Array<number>(SCORE_BINS).fill(0),
        routes: new Map(),
      };
      this.mixes.set(key, m);
    }
    const bin = Math.min(SCORE_BINS - 1, Math.max(0, Math.floor(r.score * SCORE_BINS)));
    m.scores[bin]!++;
    const route = kind === "shadow" ? "shadow" : (ROUTE_NAMES[r.route] ?? "unspecified");
    m.routes.set(route, (m.routes.get(route) ?? 0) + 1);
  }

  view(): ScoreMixView[] {
    return [...this.mixes.values()].map((m) => {
      const routes = Object.fromEntries(m.routes);
      return {
        model: m.model,
        version: m.version,
        role: roleOf(routes),
        decisions: m.scores.reduce((s, c) => s + c, 0),
        routes,
        score_bins: [...m.scores],
      };
    });
  }
}

function roleOf(routes: Record<string, number>): string {
  const top = Object.entries(routes).sort((a, b) => b[1] - a[1])[0]?.[0] ?? "none";
  return top === "primary" ? "champion" : top;
}
