import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { FeatureSpec, InputSpec } from "../lib/model/index.js";
import type { FieldViolation } from "../lib/rpc/index.js";

/** Limits on a request's shape, beyond the model's own schema. */
export interface RequestLimits {
  /** Most fields an `inputs` object may carry. */
  maxFields: number;
  /** Longest field name, request_id or entity_id. */
  maxIdLength: number;
}

export const DEFAULT_LIMITS: RequestLimits = { maxFields: 64, maxIdLength: 128 };

const ID_PATTERN = /^[A-Za-z0-9._:-]+$/;

export interface ValidatedInputs {
  values: Record<string, number>;
  violations: FieldViolation[];
}

/**
 * Checks one request's `inputs` against the model family's input schema and returns the numeric values and
 * every violation: missing required fields, wrong types (strings, booleans, objects, lists), non-integers
 * where an integer is required, values out of range, NaN and Infinity, unknown fields, and oversized objects.
 * `path` prefixes field paths, e.g. "inputs" or "requests[3].inputs".
 */
export function validateInputs(
  spec: FeatureSpec,
  inputs: JsonObject | undefined,
  path: string,
  limits: RequestLimits = DEFAULT_LIMITS,
): ValidatedInputs {
  const values: Record<string, number> = {};
  const violations: FieldViolation[] = [];
  const fields: JsonObject = inputs ?? {};
  const names = Object.keys(fields);
  if (names.length > limits.maxFields) {
    violations.push({
      field: path,
      reason: "TOO_MANY_FIELDS",
      description: `has ${names.length} fields; at most ${limits.maxFields} are accepted (the model takes ${spec.inputs.length})`,
    });
    return { values, violations };
  }
  const byName = new Map<string, InputSpec>(spec.inputs.map((i) => [i.name, i]));
  for (const name of names) {
    if (byName.has(name)) continue;
    violations.push(
      name.length > limits.maxIdLength
        ? {
            field: path,
            reason: "UNKNOWN_FIELD",
            description: `has a field whose name is ${name.length} characters long (unknown)`,
          }
        : { field: `${path}.${name}`, reason: "UNKNOWN_FIELD", description: `is not an input of model ${spec.model}` },
    );
  }
  for (const input of spec.inputs) {
    const field = `${path}.${input.name}`;
    const v: JsonValue | undefined = fields[input.name];
    if (v === undefined || v === null) {
      if (input.required)
        violations.push({ field, reason: "REQUIRED", description: `is required (${input.description})` });
      continue;
    }
    if (typeof v !== "number") {
      violations.push({ field, reason: "WRONG_TYPE", description: `must be a number, got ${describe(v)}` });
      continue;
    }
    if (!Number.isFinite(v)) {
      violations.push({ field, reason: "NOT_FINITE", description: `must be a finite number, got ${v}` });
      continue;
    }
    if (input.type === "integer" && !Number.isInteger(v)) {
      violations.push({ field, reason: "NOT_INTEGER", description: `must be an integer, got ${v}` });
      continue;
    }
    if (v < input.min || v > input.max) {
      violations.push({
        field,
        reason: "OUT_OF_RANGE",
        description: `must be in [${input.min}, ${input.max}], got ${v}`,
      });
      continue;
    }
    values[input.name] = v;
  }
  return { values, violations };
}

function describe(v: JsonValue): string {
  if (typeof v === "string")
    return v.length > 32 ? `a string of ${v.length} characters` : `the string ${JSON.stringify(v)}`;
  if (typeof v === "boolean") return "a boolean";
  if (Array.isArray(v)) return "a list";
  return "an object";
}

/** Checks an optional caller-chosen id (request_id, entity_id). */
export function validateId(
  value: string,
  field: string,
  limits: RequestLimits = DEFAULT_LIMITS,
): FieldViolation | undefined {
  if (value === "") return undefined;
  if (value.length > limits.maxIdLength) {
    return {
      field,
      reason: "TOO_LONG",
      description: `must be at most ${limits.maxIdLength} characters, got ${value.length}`,
    };
  }
  if (!ID_PATTERN.test(value)) {
    return { field, reason: "BAD_FORMAT", description: "may only contain letters, digits and . _ : -" };
  }
  return undefined;
}
