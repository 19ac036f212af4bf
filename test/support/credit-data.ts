import { join } from "node:path";
import type { FeatureSpec } from "../../services/lib/model/index.js";
import { loadCsv } from "../../tools/trainer/csv.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";

export const CREDIT_CSV = join(PROJECT_ROOT, "models", "credit-default", "data", "credit_default.csv");

/** The first `n` rows of the credit data as request inputs (every column but the label). */
export function creditRows(n: number, offset = 0): Record<string, number>[] {
  return loadCsv(CREDIT_CSV)
    .rows.slice(offset, offset + n)
    .map((r) => {
      const { default: _label, ...inputs } = r;
      return inputs;
    });
}

/** The first row of the credit data as a valid ScoreRequest's inputs (its entity is "C00000"). */
export const CREDIT_INPUTS: Readonly<Record<string, number>> = {
  LIMIT_BAL: 20000,
  SEX: 1,
  EDUCATION: 2,
  MARRIAGE: 1,
  AGE: 34,
  PAY_0: 0,
  PAY_2: 0,
  PAY_3: 0,
  PAY_4: 0,
  PAY_5: 0,
  PAY_6: 0,
  BILL_AMT1: 2799,
  BILL_AMT2: 2164,
  BILL_AMT3: 1854,
  BILL_AMT4: 3296,
  BILL_AMT5: 3435,
  BILL_AMT6: 4435,
  PAY_AMT1: 2005,
  PAY_AMT2: 1200,
  PAY_AMT3: 1500,
  PAY_AMT4: 300,
  PAY_AMT5: 1000,
  PAY_AMT6: 95,
};

/** The first `n` rows of the credit data as requests of a model of that data: only the columns its spec takes. */
export function creditRowsFor(spec: FeatureSpec, n: number, offset = 0): Record<string, number>[] {
  const names = spec.inputs.map((i) => i.name);
  return creditRows(n, offset).map((row) => Object.fromEntries(names.map((name) => [name, row[name]!])));
}
