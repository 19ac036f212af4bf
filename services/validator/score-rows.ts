import { Code, ConnectError, type Client, type HandlerContext } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RowDecision, RowDecisionSchema } from "../../gen/scoremesh/decision/v1/decision_pb.js";
import type { FeatureService, ValidatedRowSchema } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import type { HopBatcher } from "../lib/batching/index.js";
import { EDGE_RULES_HEADER, type EdgeRules } from "./edge-rules.js";

export type ValidatedRowInit = MessageInitShape<typeof ValidatedRowSchema>;
export type RowDecisionInit = MessageInitShape<typeof RowDecisionSchema>;

export interface DownstreamDeps {
  feature: Client<typeof FeatureService>;
  /** Batching of the hop to the feature service (VALIDATOR_BATCHING); absent: one ScoreRows per public call. */
  batcher?: HopBatcher<ValidatedRowInit, RowDecision>;
  defaultTimeoutMs: number;
  /** The rules baseline for when no feature or router replica answers; absent: the downstream error reaches the caller. */
  rules?: EdgeRules;
}

/**
 * The decisions of validated rows of one model: from the mesh (feature service → router), or, when it is not
 * reachable (UNAVAILABLE, DEADLINE_EXCEEDED) and the model has rules, from the edge's rules baseline with the
 * `scoremesh-degraded-reason` response header. The downstream call gets the caller's deadline less the rules'
 * reserve.
 */
export async function decideRows(
  deps: DownstreamDeps,
  model: string,
  rows: ValidatedRowInit[],
  ctx: HandlerContext,
): Promise<RowDecisionInit[]> {
  const remaining = ctx.timeoutMs() ?? deps.defaultTimeoutMs;
  const call = { timeoutMs: deps.rules?.downstreamTimeoutMs(model, remaining) ?? remaining, signal: ctx.signal };
  let decisions: RowDecisionInit[];
  try {
    decisions = deps.batcher
      ? await deps.batcher.call(model, rows, call)
      : (await deps.feature.scoreRows({ model, rows }, call)).decisions;
  } catch (err) {
    if (!deps.rules?.fallsBack(model, err, ctx.signal)) throw err;
    ctx.responseHeader.set(
      EDGE_RULES_HEADER,
      `rules at the edge: the mesh answered ${Code[ConnectError.from(err).code]}`,
    );
    return deps.rules.decide(model, rows, err);
  }
  deps.rules?.recovered(model);
  if (decisions.length !== rows.length) {
    throw new ConnectError(`the mesh answered ${decisions.length} decisions for ${rows.length} rows`, Code.Internal);
  }
  return decisions;
}
