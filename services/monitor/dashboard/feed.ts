import type { DecisionRecord } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { ModelRepository } from "../../lib/model/index.js";
import { ModelCards } from "./model-cards.js";
import { ScoreMix } from "./score-mix.js";
import { DEFAULT_SEGMENT_OPTIONS, SegmentView, type SegmentOptions } from "./segments.js";
import { Timeline, type Thresholds } from "./timeline.js";
import type { AlertView } from "../alerts/reading.js";

/**
 * What the dashboard keeps beyond the monitor's counts: the time series, the score distributions by version and
 * route, and the segment view. The monitor's Record handler passes every record (decisions and shadow records).
 */
export class DashboardFeed {
  readonly timeline: Timeline;
  readonly scores = new ScoreMix();
  readonly segments: SegmentView;
  /** The model cards of each model's champion and canary (/cards.json). */
  readonly cards: ModelCards;
  /** The alert engine's alerts, for the page's "Alerts" panel (absent: none). */
  alerts?: { list(): AlertView[] };
  /** More sections of /dashboard.json, each read when the page polls (e.g. "outcomes", "cost"). */
  readonly sections = new Map<string, () => unknown>();

  constructor(
    private readonly repo: Pick<ModelRepository, "card" | "models" | "versions"> | undefined,
    readonly segmentOptions: SegmentOptions = DEFAULT_SEGMENT_OPTIONS,
    private readonly clock: () => number = Date.now,
  ) {
    this.timeline = new Timeline((m, v) => this.thresholdsOf(m, v));
    this.segments = new SegmentView(segmentOptions);
    this.cards = new ModelCards(repo, () => this.scores.view());
  }

  add(r: DecisionRecord): void {
    this.scores.add(r);
    if (r.shadowOf) return; // a shadow score is no decision
    this.timeline.add(r, this.clock());
    this.segments.add(r);
  }

  /** The card's thresholds of a version (the timeline asks once per version); undefined for one the repository lacks. */
  private thresholdsOf(model: string, version: string): Thresholds | undefined {
    try {
      return this.repo?.card(model, version).thresholds;
    } catch {
      return undefined;
    }
  }
}
