import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  DriftLevel,
  DriftSubject,
  DriftWindow,
  type GetDriftResponseSchema,
} from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { ConfidenceFigures } from "./confidence.js";
import type { DriftWatch, VersionDriftView } from "./drift-watch.js";
import type { FeatureReading } from "./tracked-feature.js";

const LEVEL = {
  insufficient: DriftLevel.INSUFFICIENT,
  ok: DriftLevel.OK,
  warn: DriftLevel.WARN,
  alert: DriftLevel.ALERT,
} as const;
const SUBJECT = { score: DriftSubject.SCORE, input: DriftSubject.INPUT, segment: DriftSubject.SEGMENT } as const;
const WINDOW = { decisions: DriftWindow.DECISIONS, time: DriftWindow.TIME } as const;

/** GetDrift's answer: every watched version of `model` (every model when empty) as of now, and the rule. */
export function getDriftResponse(watch: DriftWatch, model: string): MessageInitShape<typeof GetDriftResponseSchema> {
  const r = watch.rule;
  return {
    versions: watch.view(model || undefined).map(versionMessage),
    rule: {
      psiWarn: r.warn,
      psiAlert: r.alert,
      minSample: r.minSample,
      windowDecisions: r.windowDecisions,
      windowSeconds: Math.round(r.windowMs / 1000),
    },
  };
}

function versionMessage(v: VersionDriftView) {
  const c = v.confidence;
  return {
    model: v.model,
    modelVersion: v.version,
    features: v.features.map(featureMessage),
    confidence: {
      reviewThreshold: c.review,
      declineThreshold: c.decline,
      referenceReviewShare: c.referenceReviewShare,
      windows: [
        { window: DriftWindow.DECISIONS, ...figures(c.decisions) },
        { window: DriftWindow.TIME, ...figures(c.time) },
      ],
      series: c.series.map((p) => ({ start: timestampFromMs(p.start), ...figures(p) })),
    },
  };
}

function featureMessage(f: FeatureReading) {
  return {
    feature: f.feature,
    subject: SUBJECT[f.subject],
    window: WINDOW[f.window],
    psi: f.psi,
    level: LEVEL[f.level],
    sample: BigInt(f.sample),
    ks: f.ks,
    ksSignificant: f.ksSignificant,
    since: timestampFromMs(f.since),
  };
}

function figures(f: ConfidenceFigures) {
  return {
    scored: BigInt(f.scored),
    reviewShare: f.reviewShare ?? 0,
    meanThresholdDistance: f.meanThresholdDistance ?? 0,
  };
}
