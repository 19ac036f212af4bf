import type { DecisionRecord } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { FeatureSpec, ModelCard } from "../../lib/model/index.js";
import { binOf } from "../../lib/stats/index.js";
import { ConfidenceDecay, referenceReviewShare } from "./confidence.js";
import { forEachInput } from "./record-inputs.js";
import { segmentReference } from "./segment-reference.js";
import { TrackedFeature, type DriftRule, type FeatureReading } from "./tracked-feature.js";

/** Routes whose score is the version's own model score (not a fallback model's, the rules', or a cached one). */
const MODEL_ROUTES = new Set<Route>([Route.PRIMARY, Route.CANARY]);

interface Binned {
  tracked: TrackedFeature;
  edges: readonly number[];
}

interface Segmented {
  tracked: TrackedFeature;
  groupOf: ReadonlyMap<string, number>;
}

/**
 * The drift of one model version: its score, each non-sensitive input of its card's profile (from
 * DecisionRecord.inputs) and each protected attribute's segment (DecisionRecord.segment, against the attribute's
 * profile rebinned to the segment's labels), each over the last N observations and the last T; and the
 * confidence decay of its scores. Adding a record costs one binary search and two counter updates per feature.
 */
export class VersionDrift {
  private readonly score: Binned;
  private readonly inputs = new Map<string, Binned>();
  private readonly segments: (Segmented & { name: string })[] = [];
  readonly confidence: ConfidenceDecay;
  readonly referenceReviewShare: number;

  constructor(
    readonly model: string,
    readonly version: string,
    card: ModelCard,
    spec: FeatureSpec,
    private readonly rule: DriftRule,
    now: number,
  ) {
    const profile = card.profile!;
    const track = (feature: string, subject: "score" | "input" | "segment", ref: number[], ks: boolean) =>
      new TrackedFeature(feature, subject, ref, ks, rule, now);
    this.score = { tracked: track("score", "score", profile.score.counts, true), edges: profile.score.edges };
    for (const input of spec.inputs) {
      const h = profile.inputs[input.name];
      if (!h || input.sensitive) continue;
      const tracked = track(input.name, "input", h.counts, input.type === "number");
      this.inputs.set(input.name, { tracked, edges: h.edges });
    }
    for (const s of spec.segments) {
      const input = spec.inputs.find((i) => i.name === s.source);
      const h = profile.inputs[s.source];
      if (!input?.sensitive || !h) continue;
      const ref = segmentReference(h, s, input);
      if (ref)
        this.segments.push({
          name: s.name,
          groupOf: ref.groupOf,
          tracked: track(s.name, "segment", ref.counts, false),
        });
    }
    this.confidence = new ConfidenceDecay(card.thresholds, rule.windowDecisions, rule.windowMs);
    this.referenceReviewShare = referenceReviewShare(profile.score, card.thresholds);
  }

  add(r: DecisionRecord, now: number): void {
    if (!r.degraded && MODEL_ROUTES.has(r.route)) {
      this.score.tracked.add(binOf(this.score.edges, r.score), now);
      this.confidence.add(r.score, now);
    }
    forEachInput(r.inputs, (name, v) => {
      const f = this.inputs.get(name);
      if (f) f.tracked.add(binOf(f.edges, v), now);
    });
    for (const s of this.segments) {
      const label = r.segment[s.name];
      const g = label === undefined ? undefined : s.groupOf.get(label);
      if (g !== undefined) s.tracked.add(g, now);
    }
  }

  /** Every feature's readings as of `now` (the score first, then the inputs in spec order, then the segments). */
  readings(now: number): FeatureReading[] {
    const all = [this.score, ...this.inputs.values(), ...this.segments];
    return all.flatMap((f) => f.tracked.read(now, this.rule));
  }

  /** The segments' compared groups (labels the profile cannot tell apart are one group). */
  segmentGroups(): { name: string; groups: string[] }[] {
    return this.segments.map((s) => {
      const groups: string[][] = [];
      for (const [label, g] of s.groupOf) (groups[g] ??= []).push(label);
      return { name: s.name, groups: groups.map((g) => g.join("+")) };
    });
  }
}
