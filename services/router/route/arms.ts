import type { FeatureRow, RouteRequest } from "../../../gen/scoremesh/router/v1/router_pb.js";
import { inCanary } from "../canary/assignment.js";
import type { RouterDeps } from "./router-deps.js";

/** The arm of the serving policy a row is assigned to. */
export type Arm = "champion" | "canary";

/** The rows of a Route call that one arm serves, with their places in the call. */
export interface ArmRows {
  arm: Arm;
  version: string;
  rows: FeatureRow[];
  /** Each row's index in the Route call. */
  at: number[];
}

/**
 * Splits a Route call's rows between the champion and the canary, by sticky assignment (canary/assignment.ts):
 * one group when the model has no canary, or the canary's card does not take these vectors. Groups with no rows
 * are left out, except that a call always has at least the champion's group.
 */
export function splitByArm(req: RouteRequest, champion: string, deps: Pick<RouterDeps, "champions" | "cards">) {
  const canary = deps.champions.canary?.(req.model);
  const all: ArmRows = { arm: "champion", version: champion, rows: req.rows, at: req.rows.map((_, i) => i) };
  if (!canary || deps.cards(req.model, canary.version)?.feature_spec_hash !== req.featureSpecHash) return [all];
  const groups: Record<Arm, ArmRows> = {
    champion: { arm: "champion", version: champion, rows: [], at: [] },
    canary: { arm: "canary", version: canary.version, rows: [], at: [] },
  };
  req.rows.forEach((row, i) => {
    const g = groups[inCanary(req.model, row, canary.percent) ? "canary" : "champion"];
    g.rows.push(row);
    g.at.push(i);
  });
  return Object.values(groups).filter((g, i) => i === 0 || g.rows.length > 0);
}

/** The groups' answers put back in the order of the call's rows. */
export function inRowOrder<T>(groups: readonly ArmRows[], answers: readonly T[][]): T[] {
  if (groups.length === 1) return answers[0]!;
  const out: T[] = [];
  groups.forEach((g, k) => g.at.forEach((at, j) => (out[at] = answers[k]![j]!)));
  return out;
}
