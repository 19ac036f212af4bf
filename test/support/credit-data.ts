import { join } from "node:path";
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
