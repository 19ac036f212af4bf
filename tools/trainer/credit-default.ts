import { applyTransform, checkSpec, sourceValue, type FeatureDef, type FeatureSpec, type InputSpec, type Source, type Transform, type EntityValues } from "../../services/lib/model/index.js";
import { fitStandardize } from "./column-stats.js";
import { creditDefaultEntities } from "./credit-default-entities.js";
import type { DataRow } from "./data-row.js";
import { roundSignificant } from "./rounding.js";
import type { GradientBoostingOptions } from "./gradient-boosting.js";
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

const PAY_STATUS_INPUTS = ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"];
const BILL_INPUTS = MONTHS.map((_, m) => `BILL_AMT${m + 1}`);
const PAY_AMT_INPUTS = MONTHS.map((_, m) => `PAY_AMT${m + 1}`);

/** A feature whose last step is a standardization fitted on the training rows after the steps before it. */
function standardized(
  train: readonly DataRow[],
  name: string,
  source: Source,
  description: string,
  before: Transform[] = [],
  entities: readonly (EntityValues | undefined)[] = [],
): FeatureDef {
  // Fitted on the training rows that have the value (an entity the snapshot does not know has none).
  const raw = train.map((row, i) => sourceValue(source, row, entities[i])).filter((x): x is number => x !== undefined);
  const pre = raw.map((x) => before.reduce((v, t) => applyTransform(t as Exclude<Transform, { kind: "one_hot" }>, v), x));
  const { mean, std } = fitStandardize(pre);
  return { name, description, source, transforms: [...before, { kind: "standardize", mean, std }], default: median(raw) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return roundSignificant(sorted[Math.floor(sorted.length / 2)]!, 6);
}

const input = (name: string): Source => ({ kind: "input", name });
const entity = (name: string): Source => ({ kind: "entity", name });

/**
 * The credit-default spec, fitted on the training rows: the credit limit, bills and payments on a signed log
 * scale, the repayment statuses, EDUCATION one-hot, and derived features (utilization, months delinquent,
 * worst delay, share of the last bill paid), entity features looked up by entity_id (average utilization and
 * its change over six months, average share of bills paid, months with a bill owed and nothing paid; see
 * credit-default-entities.ts), every numeric feature standardized with the training rows' mean and standard
 * deviation (so linear models read them on one scale; trees do not mind). A missing source (an unknown entity
 * for the entity features) takes the training median. The sensitive inputs only feed the monitoring segments.
 */
export function creditDefaultSpec(train: readonly DataRow[], entities: readonly (EntityValues | undefined)[]): FeatureSpec {
  const log: Transform = { kind: "log" };
  const features: FeatureDef[] = [
    standardized(train, "LIMIT_BAL", input("LIMIT_BAL"), "credit limit, signed log", [log]),
    {
      name: "EDUCATION",
      description: "education code one-hot (1 graduate school, 2 university, 3 high school, 4 others; 0, 5, 6 none set)",
      source: input("EDUCATION"),
      transforms: [{ kind: "one_hot", categories: [1, 2, 3, 4] }],
      default: 2,
    },
    ...PAY_STATUS_INPUTS.map((name, m) => standardized(train, name, input(name), `repayment status in ${MONTHS[m]}`)),
    ...BILL_INPUTS.map((name, m) => standardized(train, name, input(name), `bill in ${MONTHS[m]}, signed log`, [log])),
    ...PAY_AMT_INPUTS.map((name, m) => standardized(train, name, input(name), `payment in ${MONTHS[m]}, signed log`, [log])),
    standardized(
      train,
      "utilization",
      { kind: "derived", op: "ratio", of: ["BILL_AMT1", "LIMIT_BAL"] },
      "September bill / credit limit, clipped to [-1, 3]",
      [{ kind: "clip", min: -1, max: 3 }],
    ),
    standardized(
      train,
      "months_delinquent",
      { kind: "derived", op: "count_at_least", of: PAY_STATUS_INPUTS, threshold: 1 },
      "months of the six with a payment delay",
    ),
    standardized(train, "worst_delay", { kind: "derived", op: "max", of: PAY_STATUS_INPUTS }, "largest repayment status of the six months"),
    standardized(
      train,
      "payment_ratio",
      { kind: "derived", op: "ratio", of: ["PAY_AMT1", "BILL_AMT2"] },
      "September payment / August bill (0 when the bill is 0), clipped to [-1, 2]",
      [{ kind: "clip", min: -1, max: 2 }],
    ),
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
    inputs: INPUTS,
    entity_features: creditDefaultEntities.features,
    features,
    segments: [
      { name: "age_band", source: "AGE", edges: [25, 35, 45, 55, 65] },
      { name: "sex", source: "SEX", labels: { "1": "male", "2": "female" } },
      { name: "marriage", source: "MARRIAGE", labels: { "1": "married", "2": "single", "3": "other" } },
    ],
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

const describeTrees = (o: Required<GradientBoostingOptions>) =>
  `${o.rounds} trees of depth ${o.maxDepth}, learning rate ${o.learningRate}, L2 ${o.l2}, ` +
  `${o.maxBins} bins, ${o.rowSubsample * 100}% of rows per tree (seed ${o.seed})`;

/**
 * The credit-default family: versions 1 and 2 are the light models (logistic regressions), version 3 the heavy
 * one (gradient-boosted trees, the champion a fresh mesh starts with) and version 4 a tree challenger.
 */
export const creditDefault: ModelFamily = {
  model: "credit-default",
  dataFile: "credit_default.csv",
  label: "default",
  split: { trainRows: 20_000, holdoutRows: 5_000, seed: 42 },
  inputs: INPUTS,
  spec: creditDefaultSpec,
  entities: creditDefaultEntities,
  thresholdQuantiles: { review: 0.75, decline: 0.9 },
  versions: [
    {
      version: "1",
      algorithm: "logistic_regression",
      description:
        "Light model: logistic regression on the spec's features, L2 penalty 1, unweighted. " +
        "Thresholds put about 75% of applicants in approve, 15% in review and 10% in decline.",
      l2: 1,
      classWeight: "none",
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
    },
    {
      version: "3",
      algorithm: "gradient_boosted_trees",
      seedChampion: true,
      description:
        `Heavy model and champion: gradient-boosted trees, ${describeTrees(TREES_3)}. Thresholds put about 75% of ` +
        "applicants in approve, 15% in review and 10% in decline.",
      options: TREES_3,
    },
    {
      version: "4",
      algorithm: "gradient_boosted_trees",
      description: `Tree challenger: ${describeTrees(TREES_4)}. Thresholds refitted to its own holdout scores.`,
      options: TREES_4,
    },
  ],
};
