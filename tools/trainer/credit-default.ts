import { checkSpec, type EntityValues, type FeatureDef, type FeatureSpec } from "../../services/lib/model/index.js";
import { CREDIT_INPUTS, CREDIT_SEGMENTS, PAY_STATUS_INPUTS, creditEdgeCases } from "./credit-columns.js";
import { CREDIT_LIMITATIONS, EDUCATION_GROUPS, creditData } from "./credit-card-text.js";
import { creditHistoryFeatures } from "./credit-history-features.js";
import { creditDefaultEntities } from "./credit-default-entities.js";
import type { DataRow } from "./data-row.js";
import { describeTrees, type GradientBoostingOptions } from "./gradient-boosting.js";
import type { ModelFamily } from "./model-family.js";
import { entity, standardized } from "./spec-builders.js";

/**
 * The credit-default spec, fitted on the training rows: the credit limit, bills and payments on a signed log
 * scale, the repayment statuses, EDUCATION one-hot, and derived features (utilization, months delinquent,
 * worst delay, share of the last bill paid), entity features looked up by entity_id (average utilization and
 * its change over six months, average share of bills paid, months with a bill owed and nothing paid; see
 * credit-default-entities.ts), every numeric feature standardized with the training rows' mean and standard
 * deviation (so linear models read them on one scale; trees do not mind). A missing source (an unknown entity
 * for the entity features) takes the training median. The sensitive inputs only feed the monitoring segments.
 */
export function creditDefaultSpec(
  train: readonly DataRow[],
  entities: readonly (EntityValues | undefined)[],
): FeatureSpec {
  const features: FeatureDef[] = [
    ...creditHistoryFeatures(train, 0),
    ...creditDefaultEntities.features.map((e) =>
      standardized(train, e.name, entity(e.name), `entity feature: ${e.description}`, [], entities),
    ),
  ];
  const spec: FeatureSpec = {
    model: "credit-default",
    description:
      "Probability that a credit card client defaults on next month's payment, from the credit limit, education, " +
      "six months of repayment status, bill amounts and payments, and per-client aggregates of that history " +
      "looked up by entity_id in the entity snapshot. SEX, MARRIAGE and AGE are validated and used " +
      "for monitoring segments only, never as model inputs.",
    inputs: CREDIT_INPUTS,
    entity_features: creditDefaultEntities.features,
    features,
    segments: CREDIT_SEGMENTS,
  };
  checkSpec(spec);
  return spec;
}

const TREES_3: Required<GradientBoostingOptions> = {
  rounds: 300,
  learningRate: 0.05,
  maxDepth: 4,
  l2: 1,
  minChildWeight: 5,
  minSplitGain: 0,
  maxBins: 64,
  rowSubsample: 0.8,
  seed: 3,
};

const TREES_4: Required<GradientBoostingOptions> = {
  rounds: 150,
  learningRate: 0.1,
  maxDepth: 3,
  l2: 5,
  minChildWeight: 20,
  minSplitGain: 0,
  maxBins: 32,
  rowSubsample: 0.7,
  seed: 4,
};

/** The cascade's light model: a small ensemble that decides the confident rows (tools/trainer/cascade-study.ts). */
export const TREES_5: Required<GradientBoostingOptions> = {
  rounds: 40,
  learningRate: 0.2,
  maxDepth: 3,
  l2: 5,
  minChildWeight: 20,
  minSplitGain: 0,
  maxBins: 32,
  rowSubsample: 0.8,
  seed: 5,
};

/**
 * The credit-default family: versions 1 and 2 are the light models (logistic regressions), version 3 the heavy
 * one (gradient-boosted trees, the champion a fresh mesh starts with), version 4 a tree challenger and version 5
 * the light model of the light → heavy cascade (a small tree ensemble that hands its uncertain rows to 3).
 */
export const creditDefault: ModelFamily = {
  model: "credit-default",
  dataFile: "credit_default.csv",
  label: "default",
  split: { trainRows: 20_000, holdoutRows: 5_000, seed: 42 },
  inputs: CREDIT_INPUTS,
  spec: creditDefaultSpec,
  entities: creditDefaultEntities,
  thresholdQuantiles: { review: 0.75, decline: 0.9 },
  card: {
    intendedUse:
      "Estimates the probability that a credit card holder defaults on next month's payment, to sort applications " +
      "into approve, refer to a human reviewer, or decline at the card's thresholds. Decision support for credit " +
      "lines like those in its data, with people deciding the review band and declines open to appeal; a " +
      "demonstration model of the scoremesh mesh, not validated for lending to real applicants.",
    limitations: [
      ...CREDIT_LIMITATIONS,
      "The label is one missed payment in the month after the data (a default on next month's payment), not a " +
        "loss over the life of the account.",
      "The entity features (per-client averages over April-September) come from a snapshot of 2005-10-01 built " +
        "from the same rows; a client missing from the snapshot gets the training medians, and a stale snapshot " +
        "in service makes those features wrong.",
    ],
    data: creditData("default: 1 when the client defaulted on the next month's payment (about 22 % of the rows)"),
    extraSegments: [EDUCATION_GROUPS],
  },
  goldenVariants: (first) =>
    creditEdgeCases(first, {
      statuses: PAY_STATUS_INPUTS,
      bill: "BILL_AMT1",
      previousBill: "BILL_AMT2",
      payment: "PAY_AMT1",
    }),
  versions: [
    {
      version: "1",
      algorithm: "logistic_regression",
      description:
        "Light model: logistic regression on the spec's features, L2 penalty 1, unweighted. " +
        "Thresholds put about 75% of applicants in approve, 15% in review and 10% in decline.",
      l2: 1,
      classWeight: "none",
      intendedUse:
        "Version 1 is the light model: the router's fallback when the champion cannot answer (the lowest " +
        "logistic-regression version), and a reference the tree models are compared with.",
      limitations: ["A linear model: it misses interactions the tree versions find, and its AUC is the lowest."],
    },
    {
      version: "2",
      algorithm: "logistic_regression",
      description:
        "Challenger: logistic regression on the same features, L2 penalty 10, classes balanced " +
        "(each default weighted n_neg/n_pos), so its scores run higher; thresholds refitted to its own " +
        "holdout scores (about 75% approve, 15% review, 10% decline).",
      l2: 10,
      classWeight: "balanced",
      intendedUse: "Version 2 is a challenger for canary and shadow comparisons, not meant to be the champion.",
      limitations: [
        "Its scores are not calibrated probabilities: with the classes balanced in training they run well above " +
          "the observed default rates (see calibration); read them as a ranking, never as a probability of default.",
      ],
    },
    {
      version: "3",
      algorithm: "gradient_boosted_trees",
      seedChampion: true,
      description:
        `Heavy model and champion: gradient-boosted trees, ${describeTrees(TREES_3)}. Thresholds put about 75% of ` +
        "applicants in approve, 15% in review and 10% in decline.",
      options: TREES_3,
      intendedUse: "Version 3 is the heavy model and the champion a fresh mesh starts with.",
    },
    {
      version: "4",
      algorithm: "gradient_boosted_trees",
      description: `Tree challenger: ${describeTrees(TREES_4)}. Thresholds refitted to its own holdout scores.`,
      options: TREES_4,
      intendedUse: "Version 4 is a tree challenger, rolled out against the champion by canary.",
    },
    {
      version: "5",
      algorithm: "gradient_boosted_trees",
      description:
        `Cascade light model: ${describeTrees(TREES_5)}. Decides the rows it is sure of and hands the ` +
        "rest (its scores inside the policy's uncertainty band) to the heavy model. Thresholds put about 75% of " +
        "applicants in approve, 15% in review and 10% in decline.",
      options: TREES_5,
      intendedUse:
        "Version 5 is the light model of the light-to-heavy cascade: it decides the rows it is sure of and hands " +
        "the rest to version 3; it is not meant to decide every row alone.",
      limitations: [
        "The figures on this card are for version 5 deciding every held-out row alone; in the cascade the rows in " +
          "its uncertainty band are decided by version 3 (docs/cascade.md).",
      ],
    },
  ],
};
