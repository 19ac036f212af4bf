import type { CardData, CardSections, FeatureSpec, SegmentDef } from "../../services/lib/model/index.js";
import type { DataRow } from "./data-row.js";
import type { ModelFamily } from "./model-family.js";
import { segmentPerformance } from "./segment-performance.js";

/** What a family says on every card of its versions (see ModelFamily.card). */
export interface FamilyCard {
  intendedUse: string;
  limitations: string[];
  /** The data's provenance; rows, the holdout rule and the protected attributes are filled in from the data. */
  data: Pick<CardData, "source" | "licence" | "population" | "label">;
  /** Groupings shown on the card beyond the spec's monitoring segments (e.g. education). */
  extraSegments: SegmentDef[];
}

/** What cardSections needs of a family's data: the spec, the row counts and the held-out rows with their labels. */
export interface HeldOutData {
  spec: FeatureSpec;
  totalRows: number;
  holdoutRows: readonly DataRow[];
  yHoldout: ArrayLike<number>;
}

/**
 * The regulator's sections of one version's card (intended use, limitations, data, performance on the held-out
 * rows overall and per segment), from the version's held-out scores and its card's thresholds. Training and
 * `npm run train -- card` both call it, so a retrained card and a refreshed one are the same bytes.
 */
export function cardSections(
  family: ModelFamily,
  version: string,
  data: HeldOutData,
  scores: ArrayLike<number>,
  thresholds: { review: number; decline: number },
): Required<CardSections> {
  const recipe = family.versions.find((v) => v.version === version);
  const protectedInputs = new Set(data.spec.inputs.filter((i) => i.sensitive).map((i) => i.name));
  const { trainRows, holdoutRows, seed } = family.split;
  return {
    intended_use: [family.card.intendedUse, recipe?.intendedUse].filter(Boolean).join(" "),
    limitations: [...(recipe?.limitations ?? []), ...family.card.limitations],
    data: {
      ...family.card.data,
      rows: data.totalRows,
      holdout:
        `a seeded random split of the rows (seed ${seed}): ${trainRows} training rows, ${holdoutRows} held-out rows ` +
        "never seen in training; every figure under performance is measured on the held-out rows",
      protected_attributes: [...protectedInputs],
    },
    performance: segmentPerformance({
      rows: data.holdoutRows,
      scores,
      labels: data.yHoldout,
      thresholds,
      segments: [...data.spec.segments, ...family.card.extraSegments],
      protectedInputs,
    }),
  };
}
