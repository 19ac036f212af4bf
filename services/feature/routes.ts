import { Code, ConnectError, type Client, type ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { FeatureService } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import type { FeatureRowSchema, RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import type { EntityValues } from "../lib/entity-snapshot.js";
import { buildVector, segmentsOf, type FeatureSpec } from "../lib/feature-spec.js";

export interface LoadedSpec {
  spec: FeatureSpec;
  hash: string;
  /** The family's entity features by entity id (an EntityStore); absent when the spec reads none. */
  entities?: { get(entityId: string): EntityValues | undefined };
}

/**
 * Builds each row's feature vector with the family's spec (entity features looked up by the row's entity_id;
 * an unknown or missing id takes the spec's defaults, listed in the row's `imputed`) and passes the rows on to
 * the router.
 */
export function featureRoutes(deps: {
  specs: Map<string, LoadedSpec>;
  router: Client<typeof RouterService>;
  defaultTimeoutMs: number;
}): Partial<ServiceImpl<typeof FeatureService>> {
  return {
    async scoreRows(req, ctx) {
      const loaded = deps.specs.get(req.model);
      if (!loaded) throw new ConnectError(`unknown model ${JSON.stringify(req.model)}`, Code.NotFound);
      const rows: MessageInitShape<typeof FeatureRowSchema>[] = req.rows.map((r) => {
        const { vector, imputed } = buildVector(loaded.spec, r.inputs, loaded.entities?.get(r.entityId));
        return {
          requestId: r.requestId,
          entityId: r.entityId,
          features: Array.from(vector),
          imputed,
          segment: segmentsOf(loaded.spec, r.inputs),
          explain: r.explain,
        };
      });
      const res = await deps.router.route(
        { model: req.model, featureSpecHash: loaded.hash, rows },
        { timeoutMs: ctx.timeoutMs() ?? deps.defaultTimeoutMs, signal: ctx.signal },
      );
      return { decisions: res.decisions };
    },
  };
}
