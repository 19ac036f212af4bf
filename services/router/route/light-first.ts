import type { HandlerContext } from "@connectrpc/connect";
import type { RouteRequest } from "../../../gen/scoremesh/router/v1/router_pb.js";
import type { ArmRows } from "./arms.js";
import { featureMatrix } from "./feature-matrix.js";
import type { RouterDeps } from "./router-deps.js";
import { workerScores } from "./worker-scores.js";

/** The most of the caller's remaining time the light model may take: the champion needs the rest. */
const LIGHT_SHARE_OF_DEADLINE = 0.25;

/** The champion's rows after the light model: those it decided (with its scores), and those that go on. */
export interface LightSplit {
  light?: { group: ArmRows; version: string; scores: Float32Array };
  heavy?: ArmRows;
}

/**
 * The light → heavy cascade's first step on the champion's rows (deps.lightFirst): the light version scores
 * them all, and the rows whose light score lies outside the uncertainty band are decided by it; the others go on
 * to the champion. When there is no cascade, the light version cannot take these vectors, or its call fails,
 * every row goes on to the champion: the light model only ever saves work, it never fails a call.
 */
export async function lightFirst(
  req: RouteRequest,
  g: ArmRows,
  ctx: HandlerContext,
  deps: RouterDeps,
): Promise<LightSplit> {
  const cascade = g.arm === "champion" ? deps.lightFirst?.(req.model) : undefined;
  if (!cascade || cascade.lightVersion === g.version) return { heavy: g };
  const card = deps.cards(req.model, cascade.lightVersion);
  if (!card || card.feature_spec_hash !== req.featureSpecHash) return { heavy: g };
  const remaining = ctx.timeoutMs() ?? deps.defaultTimeoutMs ?? deps.workerTimeoutMs;
  let scores: Float32Array;
  try {
    scores = await workerScores(deps, {
      model: req.model,
      version: cascade.lightVersion,
      card,
      matrix: featureMatrix({ ...req, rows: g.rows }, { version: cascade.lightVersion, card }),
      rows: g.rows.length,
      timeoutMs: Math.min(deps.workerTimeoutMs, remaining * LIGHT_SHARE_OF_DEADLINE),
      signal: ctx.signal,
    });
  } catch {
    return { heavy: g };
  }
  return splitByBand(g, scores, cascade.low, cascade.high, cascade.lightVersion);
}

/** Rows whose light score lies in [low, high) go on; the others are the light model's, with their scores. */
function splitByBand(g: ArmRows, scores: Float32Array, low: number, high: number, version: string): LightSplit {
  const light: ArmRows = { ...g, rows: [], at: [] };
  const heavy: ArmRows = { ...g, rows: [], at: [] };
  const lightScores: number[] = [];
  g.rows.forEach((row, j) => {
    const s = scores[j]!;
    const uncertain = s >= low && s < high;
    (uncertain ? heavy : light).rows.push(row);
    (uncertain ? heavy : light).at.push(g.at[j]!);
    if (!uncertain) lightScores.push(s);
  });
  return {
    ...(light.rows.length > 0 ? { light: { group: light, version, scores: Float32Array.from(lightScores) } } : {}),
    ...(heavy.rows.length > 0 ? { heavy } : {}),
  };
}
