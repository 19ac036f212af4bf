import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";

/** One decision as recorded (before) and as the challenger would make it (after). */
export interface SimulatedRow {
  segment: Readonly<Record<string, string>>;
  tenant: string;
  before: { decision: Decision; score: number };
  after: { decision: Decision; score: number };
}

/** Approval, review and decline shares of a group (fractions of its rows). */
export interface Rates {
  approve: number;
  review: number;
  decline: number;
}

/** What would change in one group of decisions. */
export interface GroupReport {
  rows: number;
  before: Rates;
  after: Rates;
  /** Rows whose decision changes. */
  flipped: number;
  /** Flips by kind, e.g. { "APPROVE→DECLINE": 3 }. */
  flips: Record<string, number>;
  /** Expected defaults among approvals: the sum of the predicted probabilities of the approved rows. */
  expectedDefaults: { before: number; after: number };
  approvals: { before: number; after: number };
}

/** The segments a simulation reports by: the record's coarse segments and the tenant. */
export const SIMULATION_SEGMENTS = ["age_band", "sex", "marriage", "tenant"] as const;

class Group {
  rows = 0;
  readonly before = [0, 0, 0, 0];
  readonly after = [0, 0, 0, 0];
  flips: Record<string, number> = {};
  expected = { before: 0, after: 0 };

  add(r: SimulatedRow): void {
    this.rows++;
    this.before[r.before.decision]!++;
    this.after[r.after.decision]!++;
    if (r.before.decision === Decision.APPROVE) this.expected.before += r.before.score;
    if (r.after.decision === Decision.APPROVE) this.expected.after += r.after.score;
    if (r.before.decision !== r.after.decision) {
      const k = `${Decision[r.before.decision]}→${Decision[r.after.decision]}`;
      this.flips[k] = (this.flips[k] ?? 0) + 1;
    }
  }

  report(): GroupReport {
    const rates = (c: number[]) => ({
      approve: c[Decision.APPROVE]! / this.rows,
      review: c[Decision.REVIEW]! / this.rows,
      decline: c[Decision.DECLINE]! / this.rows,
    });
    return {
      rows: this.rows,
      before: rates(this.before),
      after: rates(this.after),
      flipped: Object.values(this.flips).reduce((a, b) => a + b, 0),
      flips: this.flips,
      expectedDefaults: { ...this.expected },
      approvals: { before: this.before[Decision.APPROVE]!, after: this.after[Decision.APPROVE]! },
    };
  }
}

/** Rates, flips and expected defaults of a simulation, overall and by segment (age band, sex, marriage, tenant). */
export class SimulationStats {
  private readonly overall = new Group();
  private readonly segments = new Map<string, Map<string, Group>>();

  add(r: SimulatedRow): void {
    this.overall.add(r);
    for (const dim of SIMULATION_SEGMENTS) {
      const label = (dim === "tenant" ? r.tenant : r.segment[dim]) || "unknown";
      let byLabel = this.segments.get(dim);
      if (!byLabel) this.segments.set(dim, (byLabel = new Map<string, Group>()));
      let g = byLabel.get(label);
      if (!g) byLabel.set(label, (g = new Group()));
      g.add(r);
    }
  }

  report(): { overall: GroupReport; segments: Record<string, Record<string, GroupReport>> } {
    const segments: Record<string, Record<string, GroupReport>> = {};
    for (const dim of SIMULATION_SEGMENTS) {
      const byLabel = [...(this.segments.get(dim) ?? new Map<string, Group>()).entries()].sort(([a], [b]) =>
        a < b ? -1 : 1,
      );
      segments[dim] = Object.fromEntries(byLabel.map(([label, g]) => [label, g.report()]));
    }
    return { overall: this.overall.report(), segments };
  }
}
