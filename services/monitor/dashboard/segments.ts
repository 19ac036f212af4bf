import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { DecisionRecord } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { TenantLabel } from "../../lib/service/index.js";
import { rateRatio } from "../../lib/stats/index.js";

/** Counts of one segment group (e.g. age band 25-34) of one model version. */
interface GroupSums {
  total: number;
  approve: number;
  review: number;
  decline: number;
  scoreSum: number;
}

/** One group's rates, in [0, 1], and mean score. */
export interface SegmentGroup {
  group: string;
  decisions: number;
  approveRate: number;
  reviewRate: number;
  declineRate: number;
  meanScore: number;
}

/** One attribute (age_band, sex, marriage, tenant) of one version: its groups and the four-fifths reading. */
export interface SegmentAttribute {
  attribute: string;
  groups: SegmentGroup[];
  /** Lowest ÷ highest approval rate across the groups; null while a group is under the minimum sample. */
  approvalRatio: number | null;
  lowest: string | null;
  highest: string | null;
  /** Groups still under the minimum sample. */
  waiting: string[];
  /** The ratio is below the bound (every group has the minimum sample). */
  flagged: boolean;
}

export interface SegmentVersion {
  model: string;
  version: string;
  attributes: SegmentAttribute[];
}

export interface SegmentOptions {
  /** Decisions every group of an attribute needs before its ratio is read (default 100). */
  minSample: number;
  /** The ratio below which an attribute is flagged (default 0.8, the four-fifths rule). */
  bound: number;
}

export const DEFAULT_SEGMENT_OPTIONS: SegmentOptions = { minSample: 100, bound: 0.8 };

/**
 * Segment divergence, since the monitor started: per model version, per segment attribute of the decision records
 * (the spec's coarse labels: age band, sex, marriage) and per tenant, the approval, review and decline rates and
 * the mean score of each group, and the ratio of the lowest to the highest approval rate across an attribute's
 * groups (services/lib/stats rateRatio), flagged below `bound` once every group has `minSample` decisions.
 * Pure: no I/O. O(attributes) map updates per decision.
 */
export class SegmentView {
  /** version key → attribute → group → sums. */
  private readonly sums = new Map<
    string,
    { model: string; version: string; attrs: Map<string, Map<string, GroupSums>> }
  >();
  private readonly tenant = new TenantLabel(50);

  constructor(private readonly opts: SegmentOptions = DEFAULT_SEGMENT_OPTIONS) {}

  add(r: DecisionRecord): void {
    const key = `${r.model}/${r.modelVersion}`;
    let v = this.sums.get(key);
    if (!v) {
      v = { model: r.model, version: r.modelVersion, attrs: new Map() };
      this.sums.set(key, v);
    }
    for (const attribute in r.segment) count(v.attrs, attribute, r.segment[attribute]!, r);
    count(v.attrs, "tenant", this.tenant.of(r.tenantId), r);
  }

  view(): SegmentVersion[] {
    return [...this.sums.values()].map((v) => ({
      model: v.model,
      version: v.version,
      attributes: [...v.attrs].map(([attribute, groups]) => this.attributeOf(attribute, groups)),
    }));
  }

  private attributeOf(attribute: string, groups: Map<string, GroupSums>): SegmentAttribute {
    const list = [...groups]
      .map(([group, s]) => ({ group, s }))
      .sort((a, b) => a.group.localeCompare(b.group, "en", { numeric: true }));
    const reading = rateRatio(
      list.map(({ group, s }) => ({ group, total: s.total, hits: s.approve })),
      this.opts.minSample,
    );
    const ratio = reading.ratio ?? null;
    return {
      attribute,
      groups: list.map(({ group, s }) => ({
        group,
        decisions: s.total,
        approveRate: s.approve / s.total,
        reviewRate: s.review / s.total,
        declineRate: s.decline / s.total,
        meanScore: s.scoreSum / s.total,
      })),
      approvalRatio: ratio,
      lowest: reading.lowest ?? null,
      highest: reading.highest ?? null,
      waiting: reading.waiting,
      flagged: ratio !== null && ratio < this.opts.bound,
    };
  }
}

function count(attrs: Map<string, Map<string, GroupSums>>, attribute: string, group: string, r: DecisionRecord): void {
  let groups = attrs.get(attribute);
  if (!groups) attrs.set(attribute, (groups = new Map<string, GroupSums>()));
  let s = groups.get(group);
  if (!s) groups.set(group, (s = { total: 0, approve: 0, review: 0, decline: 0, scoreSum: 0 }));
  s.total++;
  s.scoreSum += r.score;
  if (r.decision === Decision.APPROVE) s.approve++;
  else if (r.decision === Decision.REVIEW) s.review++;
  else if (r.decision === Decision.DECLINE) s.decline++;
}
