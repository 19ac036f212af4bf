import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Client, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { FeatureService, type ValidatedRowSchema } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import type { RowDecision } from "../../gen/scoremesh/decision/v1/decision_pb.js";
import {
  ScoringService,
  type ScoreRequest,
  type ScoreResponseSchema,
} from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { FeatureSpec } from "../lib/model/index.js";
import { invalidArgument, type FieldViolation, activeTraceId } from "../lib/rpc/index.js";
import type { HopBatcher } from "../lib/batching/index.js";
import { EDGE_TENANT } from "./edge-metrics.js";
import { validateLabels } from "./labels.js";
import { validateId, validateInputs } from "./validation.js";

export interface EdgeDeps {
  specs: Map<string, FeatureSpec>;
  feature: Client<typeof FeatureService>;
  /** Batching of the hop to the feature service (VALIDATOR_BATCHING); absent: one ScoreRows per public call. */
  batcher?: HopBatcher<ValidatedRowInit, RowDecision>;
  defaultTimeoutMs: number;
  maxBatchRows: number;
  /**
   * The edge's API key and tenant limits (auth/edge-guard.ts): the tenant's id of a call, or a refusal; absent:
   * no authentication (VALIDATOR_AUTH=off), rows carry no tenant.
   */
  admit?: (authorization: string | null, model: string, rows: number) => string;
}

type ScoreResponseInit = MessageInitShape<typeof ScoreResponseSchema>;
export type ValidatedRowInit = MessageInitShape<typeof ValidatedRowSchema>;

/**
 * The public ScoringService. The same handlers serve the gRPC listener (grpc-js) and the HTTP listener
 * (connect-node: Connect JSON and gRPC-Web).
 */
export function scoringRoutes(deps: EdgeDeps): Partial<ServiceImpl<typeof ScoringService>> {
  return {
    async score(req, ctx) {
      const tenantId = admit(deps, ctx, [req]);
      const [res] = await scoreAll(deps, [req], (f) => f, ctx, tenantId);
      return res!;
    },
    async scoreBatch(req, ctx) {
      const tenantId = admit(deps, ctx, req.requests);
      if (req.requests.length === 0 || req.requests.length > deps.maxBatchRows) {
        throw invalidArgument([
          {
            field: "requests",
            reason: req.requests.length === 0 ? "REQUIRED" : "TOO_MANY_ROWS",
            description: `must hold 1 to ${deps.maxBatchRows} requests, got ${req.requests.length}`,
          },
        ]);
      }
      return { responses: await scoreAll(deps, req.requests, (f, i) => `requests[${i}].${f}`, ctx, tenantId) };
    },
  };
}

/** The tenant of a call ("" without authentication); throws the refusal of a call the tenant may not make. */
function admit(deps: EdgeDeps, ctx: HandlerContext, requests: ScoreRequest[]): string {
  const tenantId =
    deps.admit?.(ctx.requestHeader.get("authorization"), requests[0]?.model ?? "", requests.length) ?? "";
  if (tenantId) ctx.values.set(EDGE_TENANT, tenantId); // the edge's metrics label the call with it
  return tenantId;
}

async function scoreAll(
  deps: EdgeDeps,
  requests: ScoreRequest[],
  path: (field: string, index: number) => string,
  ctx: HandlerContext,
  tenantId: string,
): Promise<ScoreResponseInit[]> {
  const violations: FieldViolation[] = [];
  const rows: ValidatedRowInit[] = [];
  const model = requests[0]!.model;
  const traceId = activeTraceId();
  requests.forEach((r, i) => {
    const spec = deps.specs.get(r.model);
    if (!r.model) {
      violations.push({
        field: path("model", i),
        reason: "REQUIRED",
        description: `is required (one of: ${[...deps.specs.keys()].join(", ")})`,
      });
    } else if (!spec) {
      violations.push({
        field: path("model", i),
        reason: "UNKNOWN_MODEL",
        description: `unknown model ${JSON.stringify(r.model.slice(0, 64))} (known: ${[...deps.specs.keys()].join(", ")})`,
      });
    } else if (r.model !== model) {
      violations.push({
        field: path("model", i),
        reason: "MIXED_MODELS",
        description: `every request of a batch must name the same model (${model})`,
      });
    }
    for (const [field, value] of [
      ["request_id", r.requestId],
      ["entity_id", r.entityId],
    ] as const) {
      const v = validateId(value, path(field, i));
      if (v) violations.push(v);
    }
    violations.push(...validateLabels(r.labels, path("labels", i)));
    if (spec) {
      const checked = validateInputs(spec, r.inputs, path("inputs", i));
      violations.push(...checked.violations);
      rows.push({
        requestId: r.requestId || randomUUID(),
        entityId: r.entityId,
        inputs: checked.values,
        explain: r.explain,
        traceId,
        tenantId,
        labels: r.labels,
      });
    }
  });
  if (violations.length > 0) throw invalidArgument(violations);
  const call = { timeoutMs: ctx.timeoutMs() ?? deps.defaultTimeoutMs, signal: ctx.signal };
  const decisions = deps.batcher
    ? await deps.batcher.call(model, rows, call)
    : (await deps.feature.scoreRows({ model, rows }, call)).decisions;
  if (decisions.length !== rows.length) {
    throw new ConnectError(`the mesh answered ${decisions.length} decisions for ${rows.length} rows`, Code.Internal);
  }
  return decisions.map((d) => ({
    requestId: d.requestId,
    model,
    modelVersion: d.modelVersion,
    score: d.score,
    decision: d.decision,
    route: d.route,
    degraded: d.degraded,
    reasons: d.reasons,
    traceId,
    imputedFeatures: d.imputedFeatures,
  }));
}
