import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  ReviewAction_Kind,
  ReviewStatus,
  type MonitorService,
  type ReviewCase,
} from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import type { OutcomeDesk } from "../outcomes/outcome-desk.js";
import type { ReviewDesk } from "./review-desk.js";
import { WorkflowError } from "./workflow.js";

const CODES: Record<WorkflowError["code"], Code> = {
  "not-found": Code.NotFound,
  conflict: Code.FailedPrecondition,
  invalid: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  unavailable: Code.Unavailable,
};

/** A workflow refusal as the gRPC status it stands for; anything else as is. */
function asConnect(err: unknown): unknown {
  return err instanceof WorkflowError ? new ConnectError(err.message, CODES[err.code]) : err;
}

/** ClaimReview, ResolveReview, RecordOutcome and GetDecision. */
export function reviewRoutes(desk: ReviewDesk, outcomes?: OutcomeDesk): Partial<ServiceImpl<typeof MonitorService>> {
  return {
    async recordOutcome(req) {
      if (!outcomes) throw new ConnectError("outcomes are not recorded by this monitor", Code.Unimplemented);
      try {
        return await outcomes.record(req);
      } catch (err) {
        throw asConnect(err);
      }
    },
    async getDecision(req) {
      if (!outcomes) throw new ConnectError("decisions are not kept by this monitor", Code.Unimplemented);
      try {
        return { decision: await outcomes.decision(req.tenantId, req.requestId) };
      } catch (err) {
        throw asConnect(err);
      }
    },
    async claimReview(req) {
      try {
        return { reviewCase: await desk.act(req.signedAction, ReviewAction_Kind.CLAIM) };
      } catch (err) {
        throw asConnect(err);
      }
    },
    async resolveReview(req) {
      try {
        return { reviewCase: await desk.act(req.signedAction, ReviewAction_Kind.RESOLVE) };
      } catch (err) {
        throw asConnect(err);
      }
    },
  };
}

/**
 * The durable cases ListReviews returns: of `model` (when given), unresolved unless `includeResolved`, oldest
 * first, at most `limit`; none while the store cannot be read.
 */
export async function durableCases(
  desk: ReviewDesk | undefined,
  opts: { limit: number; model?: string; includeResolved: boolean },
): Promise<ReviewCase[]> {
  if (!desk) return [];
  const all = await desk.list().catch(() => []);
  return all
    .filter((c) => opts.model === undefined || c.decision?.model === opts.model)
    .filter((c) => opts.includeResolved || c.status !== ReviewStatus.RESOLVED)
    .sort((a, b) => openedMs(a) - openedMs(b))
    .slice(0, opts.limit);
}

function openedMs(c: ReviewCase): number {
  return c.openedAt ? timestampMs(c.openedAt) : 0;
}
