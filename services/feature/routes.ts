import { Code, ConnectError, type Client, type ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { FeatureService } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import type { RowDecision } from "../../gen/scoremesh/decision/v1/decision_pb.js";
import type { FeatureRowSchema, RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { type EntityValues, buildVector, segmentsOf, type FeatureSpec } from "../lib/model/index.js";
import type { HopBatcher } from "../lib/batching/index.js";
import { activeTraceId } from "../lib/rpc/index.js";
import { replayInputs } from "./replay-inputs.js";

export type FeatureRowInit = MessageInitShape<typeof FeatureRowSchema>;

export interface LoadedSpec {
  spec: FeatureSpec;
  hash: string;
  /** The family's entity features by entity id (an EntityStore); absent when the spec reads none. */
  entities?: { get(entityId: string): EntityValues | undefined; snapshotId?(): string };
}

/**
 * Builds each row's feature vector with the family's spec (entity features looked up by the row's entity_id;
 * an unknown or missing id takes the spec's defaults, listed in the row's `imputed`) and passes the rows on to
 * the router.
 */
export function featureRoutes(deps: {
  specs: Map<string, LoadedSpec>;
  router: Client<typeof RouterService>;
  /** Batching of the hop to the router (FEATURE_BATCHING), keyed by model; absent: one Route per ScoreRows call. */
  batcher?: HopBatcher<FeatureRowInit, RowDecision>;
  defaultTimeoutMs: number;
}): Partial<ServiceImpl<typeof FeatureService>> {
  return {
    async scoreRows(req, ctx) {
      const loaded = deps.specs.get(req.model);
      if (!loaded) throw new ConnectError(`unknown model ${JSON.stringify(req.model)}`, Code.NotFound);
      const callTraceId = activeTraceId();
      const rows: FeatureRowInit[] = req.rows.map((r) => {
        const entity = loaded.entities?.get(r.entityId);
        const { vector, imputed } = buildVector(loaded.spec, r.inputs, entity);
        return {
          requestId: r.requestId,
          entityId: r.entityId,
          features: Array.from(vector),
          imputed,
          segment: segmentsOf(loaded.spec, r.inputs),
          explain: r.explain,
          traceId: r.traceId || callTraceId,
          tenantId: r.tenantId,
          replay: replayInputs(loaded.spec, r.inputs, entity),
          entitySnapshotId: r.entityId ? (loaded.entities?.snapshotId?.() ?? "") : "",
          labels: r.labels,
          routingInputs: routingInputs(loaded.spec, r.inputs),
        };
      });
      const call = { timeoutMs: ctx.timeoutMs() ?? deps.defaultTimeoutMs, signal: ctx.signal };
      // The batcher's key is the model: one spec (and hash) per model in this process.
      if (deps.batcher) return { decisions: await deps.batcher.call(req.model, rows, call) };
      const res = await deps.router.route({ model: req.model, featureSpecHash: loaded.hash, rows }, call);
      return { decisions: res.decisions };
    },
  };
}

/**
 * The row's raw non-sensitive inputs, for the serving policy's segment rules over an input band (the router
 * gets only the transformed vector). Inputs the spec marks sensitive (SEX, AGE, MARRIAGE) are never passed.
 */
export function routingInputs(spec: FeatureSpec, inputs: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const input of spec.inputs) {
    const v = inputs[input.name];
    if (!input.sensitive && v !== undefined) out[input.name] = v;
  }
  return out;
}
