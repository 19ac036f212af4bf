import type { SegmentRule } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import { matchesAll, type SegmentSubject } from "./match.js";
import { parseWhere, SegmentWhereError, type SegmentCondition } from "./where.js";

/** The most segment rules a policy may have. */
export const MAX_SEGMENT_RULES = 32;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** A segment rule with its `where` parsed. */
export interface ParsedSegmentRule {
  name: string;
  version: string;
  where: string;
  conditions: SegmentCondition[];
}

/** What is wrong with a policy's segment rules, naming the field (e.g. "segments[1].where: …"); undefined if nothing. */
export function segmentsProblem(rules: readonly SegmentRule[]): string | undefined {
  if (rules.length > MAX_SEGMENT_RULES) return `segments has ${rules.length} rules; at most ${MAX_SEGMENT_RULES}`;
  const seen = new Set<string>();
  for (const [i, r] of rules.entries()) {
    if (!NAME.test(r.name))
      return `segments[${i}].name must be 1-64 of letters, digits, - and _, got ${JSON.stringify(r.name)}`;
    if (seen.has(r.name)) return `segments[${i}].name ${r.name} is used twice`;
    seen.add(r.name);
    if (!r.version) return `segments[${i}].version is empty`;
    try {
      parseWhere(r.where);
    } catch (err) {
      if (err instanceof SegmentWhereError) return `segments[${i}].where: ${err.message}`;
      throw err;
    }
  }
  return undefined;
}

/** The rules parsed, in order; throws `SegmentWhereError` (see segmentsProblem for a checked policy). */
export function parseRules(rules: readonly SegmentRule[]): ParsedSegmentRule[] {
  return rules.map((r) => ({ name: r.name, version: r.version, where: r.where, conditions: parseWhere(r.where) }));
}

/** The first rule that matches the row (rules are evaluated in order, the first match wins); undefined if none. */
export function firstMatch<R extends Pick<ParsedSegmentRule, "conditions">>(
  rules: readonly R[],
  row: SegmentSubject,
): R | undefined {
  return rules.find((r) => matchesAll(r.conditions, row));
}
