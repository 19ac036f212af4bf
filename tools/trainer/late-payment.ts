import { checkSpec, type FeatureSpec } from "../../services/lib/model/index.js";
import { CREDIT_INPUTS, CREDIT_SEGMENTS, PAY_STATUS_INPUTS, creditEdgeCases } from "./credit-columns.js";
import { CREDIT_LIMITATIONS, EDUCATION_GROUPS, creditData } from "./credit-card-text.js";
import { creditHistoryFeatures } from "./credit-history-features.js";
import type { DataRow } from "./data-row.js";
import { describeTrees, type GradientBoostingOptions } from "./gradient-boosting.js";
import type { ModelFamily } from "./model-family.js";

/**
 * What the label reads: September's columns. PAY_0 is the September repayment status (the target); PAY_AMT1, the
 * amount paid in September, and BILL_AMT1, the September statement, are what a late September payment is made of
 * (or records), so they would leak the target. The family predicts September from the history through August.
 */
const SEPTEMBER = new Set(["PAY_0", "PAY_AMT1", "BILL_AMT1"]);

/** What a late-payment request carries: the credit columns through August (no September column), in file order. */
const INPUTS = CREDIT_INPUTS.filter((i) => !SEPTEMBER.has(i.name));

/** The label: the September payment is late, i.e. its repayment status is a delay of one month or more. */
export const isLatePayment = (row: DataRow): 0 | 1 => (row["PAY_0"]! >= 1 ? 1 : 0);

/**
 * The late-payment spec, fitted on the training rows: the credit-default features a month earlier (the credit
 * limit, EDUCATION, and April-August statuses, bills, payments and their derived features), no entity features
 * (the entity snapshot aggregates September too). The sensitive inputs only feed the monitoring segments.
 */
export function latePaymentSpec(train: readonly DataRow[]): FeatureSpec {
  const spec: FeatureSpec = {
    model: "late-payment",
    description:
      "Probability that a credit card client's next payment (September) is late by a month or more, from the " +
      "credit limit, education and the five months of repayment status, bill amounts and payments before it " +
      "(April-August). SEX, MARRIAGE and AGE are validated and used for monitoring segments only, never as model inputs.",
    inputs: INPUTS,
    features: creditHistoryFeatures(train, 1),
    segments: CREDIT_SEGMENTS,
  };
  checkSpec(spec);
  return spec;
}

const TREES: Required<GradientBoostingOptions> = {
  rounds: 150,
  learningRate: 0.1,
  maxDepth: 3,
  l2: 5,
  minChildWeight: 20,
  minSplitGain: 0,
  maxBins: 32,
  rowSubsample: 0.8,
  seed: 7,
};

/**
 * The late-payment family, trained from the credit-default data (its folder holds the file): version 1 is the
 * light model (a logistic regression, the fallback), version 2 the heavy one (gradient-boosted trees, the champion
 * a fresh mesh starts with). REVIEW and DECLINE read "likely late": a reminder, a call.
 */
export const latePayment: ModelFamily = {
  model: "late-payment",
  dataFile: "credit_default.csv",
  dataFrom: "credit-default",
  label: "late_payment",
  labelOf: isLatePayment,
  split: { trainRows: 20_000, holdoutRows: 5_000, seed: 42 },
  inputs: INPUTS,
  spec: latePaymentSpec,
  thresholdQuantiles: { review: 0.75, decline: 0.9 },
  card: {
    intendedUse:
      "Estimates the probability that a credit card holder's next payment is late by a month or more, from the " +
      "five months before it, to choose whom to remind or call (REVIEW and DECLINE read likely late); not a " +
      "credit decision. A demonstration model of the scoremesh mesh, not validated for use with real customers.",
    limitations: [
      ...CREDIT_LIMITATIONS,
      "The label is September 2005's repayment status (a delay of a month or more), predicted from April-August; " +
        "the September columns are left out because they would leak it. Approval here means no contact.",
    ],
    data: creditData("late_payment: 1 when September's repayment status (PAY_0) is a delay of a month or more"),
    extraSegments: [EDUCATION_GROUPS],
  },
  goldenVariants: (first) =>
    creditEdgeCases(first, {
      statuses: PAY_STATUS_INPUTS.slice(1),
      bill: "BILL_AMT2",
      previousBill: "BILL_AMT3",
      payment: "PAY_AMT2",
    }),
  versions: [
    {
      version: "1",
      algorithm: "logistic_regression",
      description:
        "Light model: logistic regression on the spec's features, L2 penalty 1, unweighted. " +
        "Thresholds put about 75% of clients in approve, 15% in review and 10% in decline.",
      l2: 1,
      classWeight: "none",
      intendedUse: "Version 1 is the light model: the router's fallback when the champion cannot answer.",
    },
    {
      version: "2",
      algorithm: "gradient_boosted_trees",
      seedChampion: true,
      description:
        `Heavy model and champion: gradient-boosted trees, ${describeTrees(TREES)}. Thresholds put about 75% of ` +
        "clients in approve, 15% in review and 10% in decline.",
      options: TREES,
      intendedUse: "Version 2 is the heavy model and the champion a fresh mesh starts with.",
    },
  ],
};
