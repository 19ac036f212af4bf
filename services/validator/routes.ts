import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Tenant } from "../../gen/scoremesh/tenant/v1/tenant_pb.js";
import {
  ScoringService,
  type ScoreRequest,
  type ScoreResponseSchema,
} from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { FeatureSpec } from "../lib/model/index.js";
import { invalidArgument, activeTraceId } from "../lib/rpc/index.js";
import { EDGE_TENANT } from "./edge-metrics.js";
import type { IdempotencyCache } from "./idempotency/idempotency-cache.js";
import { responseBytes } from "./idempotency/fingerprint.js";
import { planRows, reserveFresh, validateRows, type RowPlan } from "./row-plan.js";
import { decideRows, type DownstreamDeps, type RowDecisionInit, type ValidatedRowInit } from "./score-rows.js";

export type ScoreResponseInit = MessageInitShape<typeof ScoreResponseSchema>;
export type { ValidatedRowInit };

export interface EdgeDeps extends DownstreamDeps {
  specs: Map<string, FeatureSpec>;
  maxBatchRows: number;
  /**
   * The edge's API key and tenant limits (auth/edge-guard.ts): `identify` (key, model, largest batch; costs
   * nothing) and `charge` (quota and rate of the rows that will be scored); absent: no authentication
   * (VALIDATOR_AUTH=off), rows carry no tenant.
   */
  guard?: {
    identify(authorization: string | null, model: string, rows: number): Tenant;
    charge(tenant: Tenant, rows: number): void;
  };
  /** Answers of recent request ids by tenant (VALIDATOR_IDEMPOTENCY_*); absent: every call is scored. */
  idempotency?: IdempotencyCache<ScoreResponseInit>;
}

/**
 * The public ScoringService. The same handlers serve the gRPC listener (grpc-js) and the HTTP listener
 * (connect-node: Connect JSON and gRPC-Web).
 */
export function scoringRoutes(deps: EdgeDeps): Partial<ServiceImpl<typeof ScoringService>> {
  return {
    async score(req, ctx) {
      const tenant = identify(deps, ctx, [req]);
      const [res] = await scoreAll(deps, [req], (f) => f, ctx, tenant);
      return res!;
    },
    async scoreBatch(req, ctx) {
      const tenant = identify(deps, ctx, req.requests);
      if (req.requests.length === 0 || req.requests.length > deps.maxBatchRows) {
        throw invalidArgument([
          {
            field: "requests",
            reason: req.requests.length === 0 ? "REQUIRED" : "TOO_MANY_ROWS",
            description: `must hold 1 to ${deps.maxBatchRows} requests, got ${req.requests.length}`,
          },
        ]);
      }
      return { responses: await scoreAll(deps, req.requests, (f, i) => `requests[${i}].${f}`, ctx, tenant) };
    },
  };
}

/** The tenant of a call (undefined without authentication); throws the refusal of a call the tenant may not make. */
function identify(deps: EdgeDeps, ctx: HandlerContext, requests: ScoreRequest[]): Tenant | undefined {
  const auth = ctx.requestHeader.get("authorization");
  const tenant = deps.guard?.identify(auth, requests[0]?.model ?? "", requests.length);
  if (tenant) ctx.values.set(EDGE_TENANT, tenant.id); // the edge's metrics label the call with it
  return tenant;
}

/**
 * Scores a call's requests. Everything up to the downstream call runs synchronously, so a concurrent duplicate
 * sees this call's reservations: retries answered from the cache (same tenant, request id and inputs) cost no
 * quota; a reused id with other inputs is refused; only the fresh rows are charged, validated and scored.
 */
async function scoreAll(
  deps: EdgeDeps,
  requests: ScoreRequest[],
  path: (field: string, index: number) => string,
  ctx: HandlerContext,
  tenant: Tenant | undefined,
): Promise<ScoreResponseInit[]> {
  const plan = planRows(deps.idempotency, tenant?.id ?? "", requests, path);
  if (plan.violations.length > 0) throw invalidArgument(plan.violations);
  if (tenant && plan.fresh.length > 0) deps.guard!.charge(tenant, plan.fresh.length);
  const model = requests[0]!.model;
  const traceId = activeTraceId();
  const rows = validateRows(deps.specs, requests, plan.fresh, path, { traceId, tenantId: tenant?.id ?? "" });
  const reservations = reserveFresh(deps.idempotency, plan, rows);
  let decisions: RowDecisionInit[] = [];
  try {
    if (rows.length > 0) decisions = await decideRows(deps, model, rows, ctx);
  } catch (err) {
    for (const r of reservations.values()) r.reject(err);
    throw err;
  }
  const fresh = decisions.map((d) => responseOf(d, model, traceId));
  fresh.forEach((res, k) => reservations.get(k)?.resolve(res, responseBytes(res)));
  return assemble(plan, fresh, requests.length);
}

/** The responses in request order: fresh ones, answers awaited from the cache, copies of an earlier row's. */
async function assemble(plan: RowPlan, fresh: ScoreResponseInit[], n: number): Promise<ScoreResponseInit[]> {
  const out: ScoreResponseInit[] = new Array<ScoreResponseInit>(n);
  plan.fresh.forEach((i, k) => (out[i] = fresh[k]!));
  for (const [i, answer] of plan.cached) out[i] = await answer;
  for (const [i, j] of plan.copies) out[i] = out[j]!;
  return out;
}

function responseOf(d: RowDecisionInit, model: string, traceId: string): ScoreResponseInit {
  return {
    requestId: d.requestId,
    model,
    modelVersion: d.modelVersion,
    score: d.score,
    decision: d.decision,
    route: d.route,
    degraded: d.degraded,
    reasons: d.reasons ?? [],
    traceId,
    imputedFeatures: d.imputedFeatures ?? [],
  };
}
