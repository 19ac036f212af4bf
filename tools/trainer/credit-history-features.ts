import type { FeatureDef, Transform } from "../../services/lib/model/index.js";
import { BILL_INPUTS, MONTHS, PAY_AMT_INPUTS, PAY_STATUS_INPUTS } from "./credit-columns.js";
import type { DataRow } from "./data-row.js";
import { input, standardized } from "./spec-builders.js";

const COUNT = ["none", "one", "two", "three", "four", "five", "six"] as const;

/**
 * The features of a credit client's history from month `from` of the data (0: September, 1: August, …) back to
 * April, fitted on the training rows: the credit limit, bills and payments on a signed log scale, the repayment
 * statuses, EDUCATION one-hot, and derived features (utilization, months delinquent, worst delay, share of the
 * last bill paid), every numeric one standardized. credit-default reads all six months (from 0); late-payment
 * stops before the month it predicts (from 1).
 */
export function creditHistoryFeatures(train: readonly DataRow[], from: number): FeatureDef[] {
  const log: Transform = { kind: "log" };
  const statuses = PAY_STATUS_INPUTS.slice(from);
  const count = COUNT[statuses.length];
  const span = from === 0 ? "" : ` (${MONTHS.at(-1)}-${MONTHS[from]})`;
  const monthly = (names: string[], what: (month: string) => string, before: Transform[] = []) =>
    names.slice(from).map((name, k) => standardized(train, name, input(name), what(MONTHS[from + k]!), before));
  return [
    standardized(train, "LIMIT_BAL", input("LIMIT_BAL"), "credit limit, signed log", [log]),
    {
      name: "EDUCATION",
      description:
        "education code one-hot (1 graduate school, 2 university, 3 high school, 4 others; 0, 5, 6 none set)",
      source: input("EDUCATION"),
      transforms: [{ kind: "one_hot", categories: [1, 2, 3, 4] }],
      default: 2,
    },
    ...monthly(PAY_STATUS_INPUTS, (month) => `repayment status in ${month}`),
    ...monthly(BILL_INPUTS, (month) => `bill in ${month}, signed log`, [log]),
    ...monthly(PAY_AMT_INPUTS, (month) => `payment in ${month}, signed log`, [log]),
    standardized(
      train,
      "utilization",
      { kind: "derived", op: "ratio", of: [BILL_INPUTS[from]!, "LIMIT_BAL"] },
      `${MONTHS[from]} bill / credit limit, clipped to [-1, 3]`,
      [{ kind: "clip", min: -1, max: 3 }],
    ),
    standardized(
      train,
      "months_delinquent",
      { kind: "derived", op: "count_at_least", of: statuses, threshold: 1 },
      `months of the ${count}${span} with a payment delay`,
    ),
    standardized(
      train,
      "worst_delay",
      { kind: "derived", op: "max", of: statuses },
      `largest repayment status of the ${count} months${span}`,
    ),
    standardized(
      train,
      "payment_ratio",
      { kind: "derived", op: "ratio", of: [PAY_AMT_INPUTS[from]!, BILL_INPUTS[from + 1]!] },
      `${MONTHS[from]} payment / ${MONTHS[from + 1]} bill (0 when the bill is 0), clipped to [-1, 2]`,
      [{ kind: "clip", min: -1, max: 2 }],
    ),
  ];
}
