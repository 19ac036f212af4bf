/** A comparison of a segment condition: = and != for every field, the order comparisons for inputs only. */
export type SegmentOp = "=" | "!=" | "<" | "<=" | ">" | ">=";

/** One condition of a segment rule's `where`. */
export type SegmentCondition =
  | { kind: "tenant"; op: "=" | "!="; value: string }
  | { kind: "label"; key: string; op: "=" | "!="; value: string }
  | { kind: "input"; name: string; op: SegmentOp; value: number };

/**
 * The protected attributes no segment rule may select by (fair lending: a model version may not be chosen by
 * sex, age or marital status), as request inputs or as labels. meshctl also refuses any input the model's feature
 * spec marks `sensitive`.
 */
export const PROTECTED_ATTRIBUTES = ["SEX", "AGE", "MARRIAGE"] as const;

/** A `where` that cannot be used; the message says which condition and why. */
export class SegmentWhereError extends Error {
  override readonly name = "SegmentWhereError";
}

const MAX_WHERE = 512;
const CONDITION = /^([A-Za-z][A-Za-z0-9_.-]*)\s*(<=|>=|!=|=|<|>)\s*(.+)$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,31}$/;
const TEXT_VALUE = /^[A-Za-z0-9._:-]{1,64}$/;
const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Parses a segment rule's `where` (docs/rollouts.md#segment-rules): conditions joined by `and`, all of which must
 * hold. Each is `tenant=ID`, `label.KEY=VALUE` (or `!=`), or `INPUT OP NUMBER` (OP: = != < <= > >=). Throws
 * `SegmentWhereError` for a malformed condition or one over a protected attribute (SEX, AGE, MARRIAGE).
 *
 * @example
 *   parseWhere("label.channel=branch and LIMIT_BAL>=200000");
 *   // [{ kind: "label", key: "channel", op: "=", value: "branch" }, { kind: "input", name: "LIMIT_BAL", op: ">=", value: 200000 }]
 */
export function parseWhere(where: string): SegmentCondition[] {
  if (!where.trim()) throw new SegmentWhereError("is empty: give at least one condition, e.g. tenant=acme");
  if (where.length > MAX_WHERE) throw new SegmentWhereError(`is ${where.length} characters; at most ${MAX_WHERE}`);
  return where.split(/\s+and\s+/i).map((part) => parseCondition(part.trim()));
}

function parseCondition(text: string): SegmentCondition {
  const m = CONDITION.exec(text);
  if (!m) throw new SegmentWhereError(`${JSON.stringify(text)} is not FIELD OP VALUE (e.g. label.channel=branch)`);
  const [, field, op, raw] = m as unknown as [string, string, SegmentOp, string];
  const value = raw.trim();
  refuseProtected(field);
  if (field === "tenant") return { kind: "tenant", op: equality(text, op), value: textValue(text, value) };
  if (field.startsWith("label.")) {
    const key = field.slice("label.".length);
    if (!LABEL_KEY.test(key))
      throw new SegmentWhereError(
        `${JSON.stringify(text)}: label key must be 1-32 of a-z, 0-9, _ and -, from a letter`,
      );
    return { kind: "label", key, op: equality(text, op), value: textValue(text, value) };
  }
  if (!NUMBER.test(value))
    throw new SegmentWhereError(`${JSON.stringify(text)}: an input is compared with a number, got ${value}`);
  return { kind: "input", name: field, op, value: Number(value) };
}

/** Refuses a field that is (or is a label named like) a protected attribute, saying why. */
function refuseProtected(field: string): void {
  const name = (field.startsWith("label.") ? field.slice("label.".length) : field).toUpperCase();
  if ((PROTECTED_ATTRIBUTES as readonly string[]).includes(name))
    throw new SegmentWhereError(
      `${field} is a protected attribute (${PROTECTED_ATTRIBUTES.join(", ")}): a model version may not be chosen by sex, age or marital status`,
    );
}

function equality(text: string, op: SegmentOp): "=" | "!=" {
  if (op === "=" || op === "!=") return op;
  throw new SegmentWhereError(`${JSON.stringify(text)}: tenants and labels compare with = or != only`);
}

function textValue(text: string, value: string): string {
  if (!TEXT_VALUE.test(value))
    throw new SegmentWhereError(`${JSON.stringify(text)}: the value must be 1-64 of letters, digits and . _ : -`);
  return value;
}
