import type { DriftThresholds } from "../../lib/stats/index.js";
import type { SegmentView } from "../dashboard/segments.js";
import type { WorkerTable } from "../worker-table.js";
import { clearOf, type AlertReading, type AlertSource } from "./reading.js";

/**
 * A PSI reading of one version, for the score ("score_drift") or one input feature ("feature_drift", subject the
 * feature): the shape a drift watch hands the engine. services/monitor/score-drift.ts gives it for the score; a
 * per-feature watch plugs in with `driftSource("feature_drift", () => watch.readings(), thresholds, h)`.
 */
export interface PsiReading {
  model: string;
  version: string;
  /** The feature; absent for the score. */
  feature?: string;
  psi: number;
  /** Decisions in the window. */
  sample: number;
}

/** A drift rule: firing once PSI stays above the thresholds' alert level (0.25), with their minimum sample. */
export function driftSource(
  rule: string,
  readings: () => readonly PsiReading[],
  t: DriftThresholds,
  hysteresis: number,
): AlertSource {
  return {
    readings: () =>
      readings().map((d) => ({
        rule,
        model: d.model,
        version: d.version,
        subject: d.feature ?? "",
        value: d.psi,
        threshold: t.alert,
        clear: clearOf(t.alert, "above", hysteresis),
        direction: "above",
        sample: d.sample,
        minSample: t.minSample,
      })),
  };
}

/**
 * The segment rule (MONITOR_SEGMENT_RATIO_BOUND, MONITOR_SEGMENT_MIN_SAMPLE): per version and attribute, the
 * lowest ÷ highest approval rate across the groups, below the bound. Its sample is the smallest group's, so it
 * stays ok until every group has the minimum sample.
 */
export function segmentSource(
  view: Pick<SegmentView, "view">,
  opts: { bound: number; minSample: number },
  hysteresis: number,
): AlertSource {
  return {
    readings: () =>
      view.view().flatMap((v) =>
        v.attributes.map((a) => {
          const rates = a.groups.map((g) => g.approveRate);
          const hi = Math.max(...rates);
          return {
            rule: "segment_ratio",
            model: v.model,
            version: v.version,
            subject: a.attribute,
            value: a.approvalRatio ?? (hi > 0 ? Math.min(...rates) / hi : 1),
            threshold: opts.bound,
            clear: Math.min(1, clearOf(opts.bound, "below", hysteresis)),
            direction: "below" as const,
            sample: a.groups.length < 2 ? 0 : Math.min(...a.groups.map((g) => g.decisions)),
            minSample: opts.minSample,
          };
        }),
      ),
  };
}

/**
 * A risk tier's realised default rate against its band, the shape an outcomes view hands the engine
 * ("outcome_band", subject the tier). It fires when the rate leaves [low, high] on either side.
 */
export interface OutcomeBandReading {
  model: string;
  version: string;
  tier: string;
  realised: number;
  low: number;
  high: number;
  /** Outcomes behind the rate, and how many the tier needs. */
  sample: number;
  minSample: number;
}

/** The outcome-band rule: the nearer edge of the band is the threshold (above the band's middle: its high edge). */
export function outcomeBandSource(readings: () => readonly OutcomeBandReading[], hysteresis: number): AlertSource {
  return {
    readings: () =>
      readings().map((o): AlertReading => {
        const above = o.realised >= (o.low + o.high) / 2;
        const threshold = above ? o.high : o.low;
        const direction = above ? "above" : "below";
        return {
          rule: "outcome_band",
          model: o.model,
          version: o.version,
          subject: o.tier,
          value: o.realised,
          threshold,
          clear: clearOf(threshold, direction, hysteresis),
          direction,
          sample: o.sample,
          minSample: o.minSample,
        };
      }),
  };
}

/** A 0/1 rule: 1 is bad; threshold and clear 0.5 (the hold time is its only damping). */
export function flag(rule: string, model: string, version: string, subject: string, on: boolean): AlertReading {
  return {
    rule,
    model,
    version,
    subject,
    value: on ? 1 : 0,
    threshold: 0.5,
    clear: 0.5,
    direction: "above",
    sample: 1,
    minSample: 0,
  };
}

/**
 * The CPU-fallback rule: a model worker that asked for an accelerator (cuda, tensorrt) and runs on CPU, one
 * alert per model version it has ready (subject the worker's address); a worker with none ready has one, model "".
 */
export function fallbackSource(table: Pick<WorkerTable, "list">): AlertSource {
  return {
    readings: (now) =>
      table.list(now).flatMap((w) => {
        const versions = w.ready.length ? w.ready.map(splitVersion) : [{ model: "", version: "" }];
        return versions.map((v) => flag("cpu_fallback", v.model, v.version, w.address, w.cpuFallback));
      }),
  };
}

/** "model/version" → its parts (a model name has no "/"). */
export function splitVersion(mv: string): { model: string; version: string } {
  const i = mv.lastIndexOf("/");
  return i < 0 ? { model: mv, version: "" } : { model: mv.slice(0, i), version: mv.slice(i + 1) };
}
