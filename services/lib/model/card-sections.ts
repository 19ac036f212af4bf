/**
 * The sections of a model card that a regulator reads (issue 12, item 9): what the version is for, what it cannot
 * do, where its data came from, and how it performs on the held-out rows, overall and per segment. Written by the
 * training kit (tools/trainer/card-sections.ts) and shown by `meshctl card` and the monitor's page.
 */
export interface CardSections {
  /** What the version is meant for, in plain words. */
  intended_use?: string;
  /** What it cannot do or was not shown to do, one point per entry. */
  limitations?: string[];
  /** Where the training and held-out rows came from. */
  data?: CardData;
  /** Performance on the held-out rows at the card's thresholds. */
  performance?: CardPerformance;
}

/** The training data's provenance in words (the card's `training` holds the file's digest and row counts). */
export interface CardData {
  source: string;
  licence: string;
  population: string;
  rows: number;
  label: string;
  /** How the held-out rows were chosen. */
  holdout: string;
  /** Inputs that are never model inputs, only monitoring segments. */
  protected_attributes: string[];
}

/** Outcomes of one set of rows at the card's thresholds (approve below review, decline from decline). */
export interface CardOutcome {
  rows: number;
  defaults: number;
  default_rate: number;
  /** ROC AUC; null when the rows hold only one class (AUC is then undefined). */
  roc_auc: number | null;
  approval_rate: number;
  review_rate: number;
  decline_rate: number;
}

/** One group of an attribute (e.g. age band 25-34). */
export interface CardGroup extends CardOutcome {
  group: string;
  /** Its approval rate ÷ the highest compared group's; null when the group has too few rows to compare. */
  approval_ratio: number | null;
}

/** One attribute's groups, and the ratio of its lowest to its highest approval rate. */
export interface CardSegment {
  attribute: string;
  /** The input the groups are made from. */
  source: string;
  /** A protected attribute (never a model input) rather than a model input grouped for the table. */
  protected: boolean;
  groups: CardGroup[];
  /** Lowest ÷ highest approval rate over the groups with at least `min_rows` rows; null with fewer than two. */
  approval_ratio: number | null;
  lowest: string | null;
  highest: string | null;
  /** approval_ratio below the performance section's `ratio_floor`. */
  flagged: boolean;
}

export interface CardPerformance {
  /** "held-out rows" with their count: what every figure here is measured on. */
  rows: number;
  thresholds: { review: number; decline: number };
  /** A group with fewer rows is listed but not compared (its rates are too noisy). */
  min_rows: number;
  /** Ratios below this are flagged (the four-fifths rule of thumb). */
  ratio_floor: number;
  overall: CardOutcome;
  segments: CardSegment[];
}
