import type { FeatureDef, FeatureSpec, InputSpec } from "../lib/feature-spec.js";
import { fitStandardize } from "./column-stats.js";
import type { DataRow } from "./data-row.js";
import type { ModelFamily } from "./model-family.js";

const MONTHS = ["September", "August", "July", "June", "May", "April"] as const;
const PAY_STATUS = "-2 no consumption, -1 paid duly, 0 revolving credit, 1-8 months of delay, 9 nine or more";

/** What a credit-default request carries: the 23 columns of the data file but the label, in file order. */
const INPUTS: InputSpec[] = [
  {
    name: "LIMIT_BAL",
    type: "number",
    min: 1,
    max: 10_000_000,
    required: true,
    description: "Amount of given credit, NT dollars (individual and family credit)",
  },
  {
    name: "SEX",
    type: "integer",
    min: 1,
    max: 2,
    required: true,
    description: "1 = male, 2 = female; sensitive: a monitoring segment, never a model input",
    sensitive: true,
  },
  {
    name: "EDUCATION",
    type: "integer",
    min: 0,
    max: 6,
    required: true,
    description: "1 = graduate school, 2 = university, 3 = high school, 4 = others; 0, 5, 6 undocumented",
  },
  {
    name: "MARRIAGE",
    type: "integer",
    min: 0,
    max: 3,
    required: true,
    description: "1 = married, 2 = single, 3 = others, 0 undocumented; sensitive: a monitoring segment only",
    sensitive: true,
  },
  {
    name: "AGE",
    type: "integer",
    min: 18,
    max: 120,
    required: true,
    description: "Age in years; sensitive: a monitoring segment, never a model input",
    sensitive: true,
  },
  ...["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"].map(
    (name, m): InputSpec => ({
      name,
      type: "integer",
      min: -2,
      max: 9,
      required: true,
      description: `Repayment status in ${MONTHS[m]}: ${PAY_STATUS}`,
    }),
  ),
  ...MONTHS.map(
    (month, m): InputSpec => ({
      name: `BILL_AMT${m + 1}`,
      type: "number",
      min: -10_000_000,
      max: 10_000_000,
      required: true,
      description: `Bill statement amount in ${month}, NT dollars (negative when overpaid)`,
    }),
  ),
  ...MONTHS.map(
    (month, m): InputSpec => ({
      name: `PAY_AMT${m + 1}`,
      type: "number",
      min: 0,
      max: 10_000_000,
      required: true,
      description: `Amount paid in ${month}, NT dollars`,
    }),
  ),
];

/**
 * The credit-default spec: every non-sensitive input, in input order, standardized with the mean and standard
 * deviation of the training rows (a missing input takes the training mean, i.e. a standardized 0). The sensitive
 * inputs only feed the monitoring segments.
 */
export function creditDefaultSpec(train: readonly DataRow[]): FeatureSpec {
  const features = INPUTS.filter((input) => !input.sensitive).map((input): FeatureDef => {
    const { mean, std } = fitStandardize(train.map((row) => row[input.name]!));
    return { name: input.name, source: input.name, transform: { kind: "standardize", mean, std }, default: mean };
  });
  return {
    model: "credit-default",
    description:
      "Probability that a credit card client defaults on next month's payment, from the credit limit, education, " +
      "six months of repayment status, bill amounts and payments. SEX, MARRIAGE and AGE are validated and used " +
      "for monitoring segments only, never as model inputs.",
    inputs: INPUTS,
    features,
    segments: [
      { name: "age_band", source: "AGE", edges: [25, 35, 45, 55, 65] },
      { name: "sex", source: "SEX", labels: { "1": "male", "2": "female" } },
      { name: "marriage", source: "MARRIAGE", labels: { "1": "married", "2": "single", "3": "other" } },
    ],
  };
}

/** The credit-default family: version 1 is the first production model, version 2 a later challenger. */
export const creditDefault: ModelFamily = {
  model: "credit-default",
  dataFile: "credit_default.csv",
  label: "default",
  split: { trainRows: 20_000, holdoutRows: 5_000, seed: 42 },
  inputs: INPUTS,
  spec: creditDefaultSpec,
  thresholdQuantiles: { review: 0.75, decline: 0.9 },
  versions: [
    {
      version: "1",
      description:
        "Logistic regression on the 20 standardized non-sensitive inputs, L2 penalty 1, unweighted. " +
        "Thresholds put about 75% of applicants in approve, 15% in review and 10% in decline.",
      l2: 1,
      classWeight: "none",
    },
    {
      version: "2",
      description:
        "Challenger: logistic regression on the same 20 features, L2 penalty 10, classes balanced " +
        "(each default weighted n_neg/n_pos), so its scores run higher; thresholds refitted to its own " +
        "holdout scores (about 75% approve, 15% review, 10% decline).",
      l2: 10,
      classWeight: "balanced",
    },
  ],
};
