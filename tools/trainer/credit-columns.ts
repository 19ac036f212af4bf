import type { InputSpec, SegmentDef } from "../../services/lib/model/index.js";

/** The data's months, newest first: PAY_0, BILL_AMT1 and PAY_AMT1 are September 2005, …6 April. */
export const MONTHS = ["September", "August", "July", "June", "May", "April"] as const;
const PAY_STATUS = "-2 no consumption, -1 paid duly, 0 revolving credit, 1-8 months of delay, 9 nine or more";

/**
 * The 23 columns of the credit data file but the label, in file order, as request inputs: what a credit-default
 * request carries; other families of the same data take a subset (see late-payment.ts).
 */
export const CREDIT_INPUTS: InputSpec[] = [
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
  ...["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"].map((name, m): InputSpec => ({
    name,
    type: "integer",
    min: -2,
    max: 9,
    required: true,
    description: `Repayment status in ${MONTHS[m]}: ${PAY_STATUS}`,
  })),
  ...MONTHS.map((month, m): InputSpec => ({
    name: `BILL_AMT${m + 1}`,
    type: "number",
    min: -10_000_000,
    max: 10_000_000,
    required: true,
    description: `Bill statement amount in ${month}, NT dollars (negative when overpaid)`,
  })),
  ...MONTHS.map((month, m): InputSpec => ({
    name: `PAY_AMT${m + 1}`,
    type: "number",
    min: 0,
    max: 10_000_000,
    required: true,
    description: `Amount paid in ${month}, NT dollars`,
  })),
];

export const PAY_STATUS_INPUTS = ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"];
export const BILL_INPUTS = MONTHS.map((_, m) => `BILL_AMT${m + 1}`);
export const PAY_AMT_INPUTS = MONTHS.map((_, m) => `PAY_AMT${m + 1}`);

/** The monitoring segments of the credit families: the sensitive inputs, never model inputs. */
export const CREDIT_SEGMENTS: SegmentDef[] = [
  { name: "age_band", source: "AGE", edges: [25, 35, 45, 55, 65] },
  { name: "sex", source: "SEX", labels: { "1": "male", "2": "female" } },
  { name: "marriage", source: "MARRIAGE", labels: { "1": "married", "2": "single", "3": "other" } },
];

/**
 * Golden-file variants of a credit family's first row (see ModelFamily.goldenVariants): an input left out,
 * EDUCATION codes outside the one-hot categories, an overpaid `bill` after a zero `previousBill` with a large
 * `payment`, the smallest limit with the largest bill, and every repayment status at its worst.
 */
export function creditEdgeCases(
  first: Readonly<Record<string, number>>,
  columns: { statuses: readonly string[]; bill: string; previousBill: string; payment: string },
): Record<string, number>[] {
  const { statuses, bill, previousBill, payment } = columns;
  const without = (name: string) => Object.fromEntries(Object.entries(first).filter(([k]) => k !== name));
  return [
    without("LIMIT_BAL"),
    without(statuses[0]!),
    without("EDUCATION"),
    { ...first, EDUCATION: 0 },
    { ...first, EDUCATION: 6 },
    { ...first, [bill]: -165_580, [previousBill]: 0, [payment]: 873_552 },
    { ...first, LIMIT_BAL: 1, [bill]: 10_000_000 },
    { ...first, ...Object.fromEntries(statuses.map((s) => [s, 9])) },
  ];
}
