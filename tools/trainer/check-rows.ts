import type { InputSpec } from "../../services/lib/model/index.js";
import type { DataRow } from "./data-row.js";
import { TrainingDataError } from "./errors.js";

/**
 * Checks that every row would pass the spec's input rules (required inputs present, in range, integers where
 * the spec says integer) and carries a 0/1 label, so a model is never trained on data it would refuse to
 * serve. Row k is reported as line k + 2 of its CSV (line 1 is the header).
 */
export function checkRows(inputs: readonly InputSpec[], rows: readonly DataRow[], label: string, source: string): void {
  rows.forEach((row, k) => {
    const where = `${source}:${k + 2}`;
    for (const input of inputs) {
      const v = row[input.name];
      if (v === undefined) {
        if (input.required) throw new TrainingDataError(`${where}: required input ${input.name} is missing`);
        continue;
      }
      if (v < input.min || v > input.max) {
        throw new TrainingDataError(`${where}: ${input.name} = ${v} is outside [${input.min}, ${input.max}]`);
      }
      if (input.type === "integer" && !Number.isInteger(v)) {
        throw new TrainingDataError(`${where}: ${input.name} = ${v} is not an integer`);
      }
    }
    const y = row[label];
    if (y !== 0 && y !== 1) throw new TrainingDataError(`${where}: label ${label} = ${y}, expected 0 or 1`);
  });
}

/** Throws naming every one of `columns` that the table lacks. */
export function requireColumns(present: readonly string[], columns: readonly string[], source: string): void {
  const have = new Set(present);
  const missing = columns.filter((c) => !have.has(c));
  if (missing.length > 0) throw new TrainingDataError(`${source}: missing column(s) ${missing.join(", ")}`);
}
