import { readFileSync } from "node:fs";
import type { DataRow } from "./data-row.js";
import { TrainingDataError } from "./errors.js";

/** A numeric CSV table: the header's column names and one record per data line. */
export interface CsvTable {
  columns: string[];
  rows: DataRow[];
}

/**
 * Parses a numeric CSV: a header line of unique column names, then lines of as many numeric fields.
 * Quoted fields, empty fields and values that are not finite numbers are errors naming the line.
 * `source` names the input in error messages.
 *
 * @example parseCsv("a,b\n1,2\n", "inline") // { columns: ["a", "b"], rows: [{ a: 1, b: 2 }] }
 */
export function parseCsv(text: string, source: string): CsvTable {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const header = lines[0];
  if (header === undefined || header.trim() === "") {
    throw new TrainingDataError(`${source}: no header line`);
  }
  const columns = header.split(",").map((c) => c.trim());
  const seen = new Set<string>();
  for (const c of columns) {
    if (c === "" || c.includes('"')) throw new TrainingDataError(`${source}:1: bad column name ${JSON.stringify(c)}`);
    if (seen.has(c)) throw new TrainingDataError(`${source}:1: duplicate column ${c}`);
    seen.add(c);
  }

  const rows: DataRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i]!.split(",");
    if (fields.length !== columns.length) {
      throw new TrainingDataError(`${source}:${i + 1}: ${fields.length} fields, the header has ${columns.length}`);
    }
    const row: Record<string, number> = {};
    for (let j = 0; j < columns.length; j++) {
      const field = fields[j]!.trim();
      const value = field === "" || field.includes('"') ? NaN : Number(field);
      if (!Number.isFinite(value)) {
        throw new TrainingDataError(`${source}:${i + 1}: ${columns[j]} is ${JSON.stringify(field)}, not a number`);
      }
      row[columns[j]!] = value;
    }
    rows.push(row);
  }
  return { columns, rows };
}

/** Reads and parses a numeric CSV file (see parseCsv). */
export function loadCsv(path: string): CsvTable {
  return parseCsv(readFileSync(path, "utf8"), path);
}
