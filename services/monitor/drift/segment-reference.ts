import { binOf } from "../../lib/stats/index.js";
import { segmentLabel, type Histogram, type InputSpec, type SegmentDef } from "../../lib/model/index.js";

/** A protected attribute's reference over its segment's labels, for drift of the segment distribution. */
export interface SegmentReference {
  /** The compared groups: one label each, or labels the profile cannot tell apart joined by "+". */
  groups: string[];
  /** The reference count of each group (fractional where a profile bin was split). */
  counts: number[];
  /** The group index of each label the segment gives. */
  groupOf: ReadonlyMap<string, number>;
}

/** Integer domains larger than this are not enumerated (no segment drift for them). */
const MAX_DOMAIN = 100_000;

/**
 * The input's reference profile rebinned to its segment's labels (e.g. AGE's deciles to the age bands), so that
 * the segment distribution the monitor sees (DecisionRecord.segment: the raw value never reaches it) compares
 * with the reference. Each interior profile bin is split over the labels of the integers it holds, in
 * proportion to their number (uniform within a bin); the first and the last bin are open-ended (their values
 * are not spread evenly up to the input's min or max), so the labels one of them spans are merged into one group.
 * Undefined for a non-integer input or one whose domain is too large to enumerate.
 *
 * @example AGE deciles [25, 27, …, 49] and bands [25, 35, 45, 55, 65] give <25, 25-34, 35-44, 45-54+55-64+65+
 */
export function segmentReference(
  profile: Histogram,
  segment: SegmentDef,
  input: InputSpec,
): SegmentReference | undefined {
  if (input.type !== "integer" || input.max - input.min > MAX_DOMAIN) return undefined;
  const perBin: string[][] = profile.counts.map(() => []);
  for (let v = Math.ceil(input.min); v <= input.max; v++) {
    const label = segmentLabel(segment, v);
    if (label !== undefined) perBin[binOf(profile.edges, v)]!.push(label);
  }
  const root = mergedLabels(perBin);
  const groups = [...new Set(perBin.flat().map((l) => root(l)))];
  const index = new Map(groups.map((g, i) => [g, i]));
  const counts = new Array<number>(groups.length).fill(0);
  perBin.forEach((labels, j) => {
    const perGroup = new Map<number, number>();
    for (const l of labels) perGroup.set(index.get(root(l))!, (perGroup.get(index.get(root(l))!) ?? 0) + 1);
    for (const [g, n] of perGroup) counts[g]! += (profile.counts[j]! * n) / labels.length;
  });
  const groupOf = new Map(perBin.flat().map((l) => [l, index.get(root(l))!]));
  const names = groups.map((g) => [...groupOf].filter(([, i]) => i === index.get(g)).map(([l]) => l));
  return { groups: names.map((n) => [...new Set(n)].join("+")), counts, groupOf };
}

/** Union of the labels each open-ended bin (the first and the last) spans; returns each label's group name. */
function mergedLabels(perBin: string[][]): (label: string) => string {
  const parent = new Map<string, string>();
  const find = (l: string): string => {
    const p = parent.get(l);
    return p === undefined || p === l ? l : find(p);
  };
  for (const j of new Set([0, perBin.length - 1])) {
    const labels = [...new Set(perBin[j])];
    for (const l of labels.slice(1)) parent.set(find(l), find(labels[0]!));
  }
  return find;
}
