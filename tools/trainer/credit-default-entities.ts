import type { EntityFeatureSpec } from "../../services/lib/model/index.js";
import type { DataRow } from "./data-row.js";
import type { EntityRecipe } from "./model-family.js";
import { roundSignificant } from "./rounding.js";

/** Months of the data, newest first: BILL_AMT1 / PAY_AMT1 / PAY_0 are September 2005, …6 April 2005. */
const MONTHS = 6;

const FEATURES: EntityFeatureSpec[] = [
  {
    name: "avg_utilization_6m",
    description: "mean over the six months (April-September) of bill / credit limit, each month clipped to [-1, 3]",
  },
  {
    name: "utilization_change_6m",
    description:
      "September utilization minus April utilization (bill / credit limit, each clipped to [-1, 3]): how fast the balance grew",
  },
  {
    name: "avg_payment_ratio_5m",
    description:
      "mean over the five months May-September of the payment / the previous month's bill, each clipped to [0, 1.5]; " +
      "a month with no bill owed (bill <= 0) counts as fully paid (1)",
  },
  {
    name: "missed_payments_5m",
    description: "months of May-September in which a bill was owed (previous month's bill > 0) and nothing was paid",
  },
];

const clip = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

/** The entity features of one credit-default data row (one client's six months of history). */
export function creditDefaultEntityFeatures(row: DataRow): Record<string, number> {
  const limit = row["LIMIT_BAL"]!;
  const bill = (m: number) => row[`BILL_AMT${m}`]!;
  const paid = (m: number) => row[`PAY_AMT${m}`]!;
  const util = (m: number) => clip(limit > 0 ? bill(m) / limit : 0, -1, 3);
  let utilSum = 0;
  for (let m = 1; m <= MONTHS; m++) utilSum += util(m);
  let ratioSum = 0;
  let missed = 0;
  // The payment of month m settles the bill of month m + 1 (the month before it).
  for (let m = 1; m < MONTHS; m++) {
    const owed = bill(m + 1);
    ratioSum += owed > 0 ? clip(paid(m) / owed, 0, 1.5) : 1;
    if (owed > 0 && paid(m) === 0) missed++;
  }
  return {
    avg_utilization_6m: roundSignificant(utilSum / MONTHS, 6),
    utilization_change_6m: roundSignificant(util(1) - util(MONTHS), 6),
    avg_payment_ratio_5m: roundSignificant(ratioSum / (MONTHS - 1), 6),
    missed_payments_5m: missed,
  };
}

/** Entity id of data row i: "C" and the row's 0-based index in the data file, zero-padded to 5 digits. */
export function creditDefaultEntityId(index: number): string {
  return "C" + String(index).padStart(5, "0");
}

/**
 * credit-default's entities: the data has no client ids, so data row i is client `C` + zero-padded i
 * (C00000 … C29999), and its snapshot row aggregates that client's six months of history. The snapshot is as of
 * 1 October 2005, the day after the last month the data describes.
 */
export const creditDefaultEntities: EntityRecipe = {
  idOf: creditDefaultEntityId,
  idRule: 'data row i (0-based, file order) is entity "C" + i zero-padded to 5 digits (C00000 ... C29999)',
  features: FEATURES,
  compute: creditDefaultEntityFeatures,
  createdAt: "2005-10-01T00:00:00.000Z",
};
