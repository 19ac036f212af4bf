import type { SegmentCondition } from "./where.js";

/** What a row offers segment rules: its tenant, its routing labels and its raw non-sensitive inputs. */
export interface SegmentSubject {
  tenantId: string;
  labels: Readonly<Record<string, string>>;
  inputs: Readonly<Record<string, number>>;
}

/**
 * True when every condition holds for the row. A missing label equals no value (so `!=` holds); a missing
 * input makes no comparison over it hold.
 */
export function matchesAll(conditions: readonly SegmentCondition[], row: SegmentSubject): boolean {
  return conditions.every((c) => matches(c, row));
}

function matches(c: SegmentCondition, row: SegmentSubject): boolean {
  switch (c.kind) {
    case "tenant":
      return (row.tenantId === c.value) === (c.op === "=");
    case "label":
      return (row.labels[c.key] === c.value) === (c.op === "=");
    case "input": {
      const v = row.inputs[c.name];
      return v !== undefined && Number.isFinite(v) && compare(v, c.op, c.value);
    }
  }
}

function compare(v: number, op: SegmentCondition["op"], x: number): boolean {
  switch (op) {
    case "=":
      return v === x;
    case "!=":
      return v !== x;
    case "<":
      return v < x;
    case "<=":
      return v <= x;
    case ">":
      return v > x;
    case ">=":
      return v >= x;
  }
}
