import {
  segmentsOf,
  type CardGroup,
  type CardOutcome,
  type CardPerformance,
  type CardSegment,
  type SegmentDef,
} from "../../services/lib/model/index.js";
import type { DataRow } from "./data-row.js";
import { rocAuc } from "./metrics.js";
import { roundDecimals } from "./rounding.js";

/** What segmentPerformance measures: scores and 0/1 labels of the same rows, in the same order. */
export interface SegmentPerformanceInput {
  /** The rows' raw inputs (the segments read their source columns). */
  rows: readonly DataRow[];
  scores: ArrayLike<number>;
  labels: ArrayLike<number>;
  /** The card's thresholds: approve below review, decline from decline, review in between. */
  thresholds: { review: number; decline: number };
  /** The groupings, e.g. the spec's segments (age band, sex, marriage) and education. */
  segments: readonly SegmentDef[];
  /** Inputs that are protected attributes (never model inputs). */
  protectedInputs: ReadonlySet<string>;
  /** Groups with fewer rows are listed but not compared (default 100). */
  minRows?: number;
  /** Ratios below this are flagged (default 0.8, the four-fifths rule of thumb). */
  ratioFloor?: number;
}

const r4 = (x: number) => roundDecimals(x, 4);

/** Groups listed after every named one, in this order. */
const CATCH_ALL = ["other", "undocumented", "unknown"];

/**
 * Performance of a scorer at its thresholds, overall and per group of each segment: rows, defaults, ROC AUC,
 * approval / review / decline rates, each group's approval rate ÷ the highest compared group's, and per attribute
 * the lowest ÷ highest approval rate over the groups with at least `minRows` rows, flagged below `ratioFloor`.
 * Rates and ratios are rounded to 4 decimals. Pure.
 *
 * @example
 *   segmentPerformance({ rows, scores, labels, thresholds: card.thresholds, segments: spec.segments,
 *     protectedInputs: new Set(["SEX", "AGE", "MARRIAGE"]) });
 */
export function segmentPerformance(input: SegmentPerformanceInput): CardPerformance {
  const { rows, scores, labels, thresholds } = input;
  if (scores.length !== rows.length || labels.length !== rows.length)
    throw new RangeError(`${rows.length} rows, ${scores.length} scores and ${labels.length} labels: need one of each`);
  const minRows = input.minRows ?? 100;
  const ratioFloor = input.ratioFloor ?? 0.8;
  const all = rows.map((_, i) => i);
  return {
    rows: rows.length,
    thresholds: { ...thresholds },
    min_rows: minRows,
    ratio_floor: ratioFloor,
    overall: outcome(all, input),
    segments: input.segments.map((def) => segment(def, input, minRows, ratioFloor)),
  };
}

function segment(def: SegmentDef, input: SegmentPerformanceInput, minRows: number, floor: number): CardSegment {
  const byGroup = new Map<string, number[]>();
  for (const [i, row] of input.rows.entries()) {
    const group = segmentsOf({ segments: [def] }, row)[def.name] ?? "unknown";
    const members = byGroup.get(group) ?? [];
    members.push(i);
    byGroup.set(group, members);
  }
  const order = groupOrder(def, input.rows);
  const names = [...byGroup.keys()].sort((a, b) => order(a, byGroup) - order(b, byGroup));
  const outcomes = names.map((group) => ({ group, ...outcome(byGroup.get(group)!, input) }));
  const compared = outcomes.filter((g) => g.rows >= minRows);
  const highest = maxBy(compared, (g) => g.approval_rate);
  const lowest = maxBy(compared, (g) => -g.approval_rate);
  // b is the highest approval rate, so b = 0 means every compared group approves none: equal rates.
  const ratio = (a: number, b: number) => (b > 0 ? r4(a / b) : 1);
  const groups: CardGroup[] = outcomes.map((g) => ({
    ...g,
    approval_ratio: g.rows >= minRows && highest ? ratio(g.approval_rate, highest.approval_rate) : null,
  }));
  const approvalRatio =
    compared.length >= 2 && lowest && highest ? ratio(lowest.approval_rate, highest.approval_rate) : null;
  return {
    attribute: def.name,
    source: def.source,
    protected: input.protectedInputs.has(def.source),
    groups,
    approval_ratio: approvalRatio,
    lowest: compared.length >= 2 ? (lowest?.group ?? null) : null,
    highest: compared.length >= 2 ? (highest?.group ?? null) : null,
    flagged: approvalRatio !== null && approvalRatio < floor,
  };
}

/** The outcome of a set of rows (indices into the input). */
function outcome(members: readonly number[], input: SegmentPerformanceInput): CardOutcome {
  const { scores, labels, thresholds } = input;
  const s = members.map((i) => scores[i]!);
  const y = members.map((i) => labels[i]!);
  const defaults = y.filter((v) => v === 1).length;
  const approve = s.filter((v) => v < thresholds.review).length;
  const decline = s.filter((v) => v >= thresholds.decline).length;
  const n = members.length;
  const share = (k: number) => (n ? r4(k / n) : 0);
  return {
    rows: n,
    defaults,
    default_rate: share(defaults),
    roc_auc: defaults > 0 && defaults < n ? r4(rocAuc(s, y)) : null,
    approval_rate: share(approve),
    review_rate: share(n - approve - decline),
    decline_rate: share(decline),
  };
}

/**
 * A sort key of a group: bins of an `edges` segment by their lowest value (so <25 comes before 25-34), labelled
 * codes in the order the segment lists them (JSON keeps integer-like keys in numeric order), then the catch-alls.
 */
function groupOrder(def: SegmentDef, rows: readonly DataRow[]) {
  const labelled = Object.values(def.labels ?? {});
  return (group: string, byGroup: ReadonlyMap<string, number[]>): number => {
    if (def.edges) {
      const first = byGroup.get(group)?.[0];
      const v = first === undefined ? undefined : rows[first]?.[def.source];
      return group === "unknown" || v === undefined ? Infinity : lowestOf(def.edges, v);
    }
    const last = CATCH_ALL.indexOf(group);
    return last >= 0 ? labelled.length + last : labelled.indexOf(group);
  };
}

/** The lower edge of the bin holding `v` (−Infinity for the first bin). */
function lowestOf(edges: readonly number[], v: number): number {
  let lo = -Infinity;
  for (const e of edges) {
    if (v < e) return lo;
    lo = e;
  }
  return lo;
}

function maxBy<T>(items: readonly T[], key: (t: T) => number): T | undefined {
  let best: T | undefined;
  for (const t of items) if (best === undefined || key(t) > key(best)) best = t;
  return best;
}
