import type { FieldViolation } from "../lib/rpc/index.js";

/** The most routing labels a request may carry (ScoreRequest.labels). */
export const MAX_LABELS = 16;
const KEY = /^[a-z][a-z0-9_-]{0,31}$/;
const VALUE = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Checks a request's routing labels (ScoreRequest.labels): at most 16; keys 1-32 of a-z, 0-9, _ and -, from a
 * letter; values 1-64 of letters, digits and . _ : -. Each violation names its field, e.g. "labels.channel"
 * (`path` is "labels" or "requests[3].labels"); a key too long or malformed to name is shown cut to 32.
 */
export function validateLabels(labels: Readonly<Record<string, string>>, path: string): FieldViolation[] {
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABELS)
    return [{ field: path, reason: "TOO_MANY", description: `has ${keys.length} labels; at most ${MAX_LABELS}` }];
  const out: FieldViolation[] = [];
  for (const key of keys) {
    const field = `${path}.${key.slice(0, 32)}`;
    if (!KEY.test(key))
      out.push({
        field,
        reason: "BAD_KEY",
        description: "label keys are 1-32 characters of a-z, 0-9, _ and -, starting with a letter",
      });
    else if (!VALUE.test(labels[key]!))
      out.push({
        field,
        reason: "BAD_VALUE",
        description: `must be 1-64 characters of letters, digits and . _ : -, got ${labels[key]!.length} characters`,
      });
  }
  return out;
}
