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

/** The first `n` rows of the credit data as requests of a model of that data: only the columns its spec takes. */
export function creditRowsFor(spec: FeatureSpec, n: number, offset = 0): Record<string, number>[] {
  const names = spec.inputs.map((i) => i.name);
  return creditRows(n, offset).map((row) => Object.fromEntries(names.map((name) => [name, row[name]!])));
}
