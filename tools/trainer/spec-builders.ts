import {
  applyTransform,
  sourceValue,
  type EntityValues,
  type FeatureDef,
  type Source,
  type Transform,
} from "../../services/lib/model/index.js";
import { fitStandardize } from "./column-stats.js";
import type { DataRow } from "./data-row.js";
import { roundSignificant } from "./rounding.js";

/** A feature whose last step is a standardization fitted on the training rows after the steps before it. */
export function standardized(
  train: readonly DataRow[],
  name: string,
  source: Source,
  description: string,
  before: Transform[] = [],
  entities: readonly (EntityValues | undefined)[] = [],
): FeatureDef {
  // Fitted on the training rows that have the value (an entity the snapshot does not know has none).
  const raw = train.map((row, i) => sourceValue(source, row, entities[i])).filter((x): x is number => x !== undefined);
  const pre = raw.map((x) =>
    before.reduce((v, t) => applyTransform(t as Exclude<Transform, { kind: "one_hot" }>, v), x),
  );
  const { mean, std } = fitStandardize(pre);
  return {
    name,
    description,
    source,
    transforms: [...before, { kind: "standardize", mean, std }],
    default: median(raw),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return roundSignificant(sorted[Math.floor(sorted.length / 2)]!, 6);
}

export const input = (name: string): Source => ({ kind: "input", name });
export const entity = (name: string): Source => ({ kind: "entity", name });
