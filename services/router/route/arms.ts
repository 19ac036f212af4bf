import type { FeatureRow, RouteRequest } from "../../../gen/scoremesh/router/v1/router_pb.js";
import { firstMatch } from "../../lib/segments/index.js";
import { inCanary } from "../canary/assignment.js";
import type { ServedSegmentRule } from "../segments/segment-table.js";
import type { RouterDeps } from "./router-deps.js";

/** The arm of the serving policy a row is assigned to. */
export type Arm = "champion" | "canary" | "segment";

/** The rows of a Route call that one arm serves, with their places in the call. */
export interface ArmRows {
  arm: Arm;
  version: string;
  /** The segment rule's name (arm "segment"). */
  segment?: string;
  rows: FeatureRow[];
  /** Each row's index in the Route call. */
  at: number[];
}

type Deps = Pick<RouterDeps, "champions" | "cards" | "segments">;
type Target = Pick<ArmRows, "arm" | "version" | "segment">;

/**
 * Splits a Route call's rows between segments, the champion and the canary. Segment rules come first, in order,
 * the first match wins: a matched row goes to its rule's version, or to the champion when that version cannot
 * serve here (not ready, or its card does not take these vectors), never to the canary. Other rows go to the
 * canary by sticky assignment (canary/assignment.ts), the rest to the champion. Groups with no rows are left
 * out, except that a call always has at least the champion's group.
 */
export function splitByArm(req: RouteRequest, champion: string, deps: Deps): ArmRows[] {
  const takes = (version: string) => deps.cards(req.model, version)?.feature_spec_hash === req.featureSpecHash;
  const c = deps.champions.canary?.(req.model);
  const canary = c && takes(c.version) ? c : undefined;
  const rules = deps.segments?.rulesFor(req.model) ?? [];
  const all: ArmRows = { arm: "champion", version: champion, rows: req.rows, at: req.rows.map((_, i) => i) };
  if (!canary && rules.length === 0) return [all];
  const primary: Target = { arm: "champion", version: champion };
  const groups = new Map<string, ArmRows>([["champion", { ...primary, rows: [], at: [] }]]);
  req.rows.forEach((row, i) => {
    const t = targetOf(req.model, row, rules, canary, primary, takes);
    const key = t.segment ? `segment:${t.segment}` : t.arm;
    const g = groups.get(key) ?? groups.set(key, { ...t, rows: [], at: [] }).get(key)!;
    g.rows.push(row);
    g.at.push(i);
  });
  return [...groups.values()].filter((g, i) => i === 0 || g.rows.length > 0);
}

function targetOf(
  model: string,
  row: FeatureRow,
  rules: readonly ServedSegmentRule[],
  canary: { version: string; percent: number } | undefined,
  primary: Target,
  takes: (version: string) => boolean,
): Target {
  const rule = rules.length
    ? firstMatch(rules, { tenantId: row.tenantId, labels: row.labels, inputs: row.routingInputs })
    : undefined;
  if (rule)
    return rule.ready && takes(rule.version) ? { arm: "segment", version: rule.version, segment: rule.name } : primary;
  if (canary && inCanary(model, row, canary.percent)) return { arm: "canary", version: canary.version };
  return primary;
}

/** The groups' answers put back in the order of the call's rows. */
export function inRowOrder<T>(groups: readonly ArmRows[], answers: readonly T[][]): T[] {
  if (groups.length === 1) return answers[0]!;
  const out: T[] = [];
  groups.forEach((g, k) => g.at.forEach((at, j) => (out[at] = answers[k]![j]!)));
  return out;
}
