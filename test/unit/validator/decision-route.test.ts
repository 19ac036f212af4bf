import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport, type HandlerContext } from "@connectrpc/connect";
import { DecisionOutcomeSchema, MonitorService } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import {
  Decision,
  GetDecisionRecordRequestSchema,
  Outcome,
  Route,
} from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { decisionRecordViolations, decisionRoutes } from "../../../services/validator/decision-route.js";

/** A monitor that keeps one decision, of tenant "acme", and records what it was asked. */
function monitor(asked: [string, string][]) {
  return createRouterTransport(({ service }) =>
    service(MonitorService, {
      getDecision(req) {
        asked.push([req.tenantId, req.requestId]);
        if (req.tenantId !== "acme" || req.requestId !== "r-1")
          throw new ConnectError(`no decision of request ${JSON.stringify(req.requestId)}`, Code.NotFound);
        return {
          decision: create(DecisionOutcomeSchema, {
            tenantId: "acme",
            requestId: "r-1",
            model: "credit-default",
            modelVersion: "4",
            decision: Decision.REVIEW,
            score: 0.41,
            decidedAt: timestampFromMs(Date.parse("2026-11-30T10:00:00Z")),
            traceId: "0af7651916cd43dd8448eb211c80319c",
            reasons: [{ code: "R-PAY_0", feature: "PAY_0", contribution: 0.2 }],
            route: Route.PRIMARY,
            outcome: Outcome.REPAID,
            observedOn: "2026-11-29",
          }),
        };
      },
    }),
  );
}

/** The guard: the tenant is the API key's ("key-of-<tenant>"). */
const guard = { tenantOf: (authorization: string | null) => (authorization ?? "").replace("Bearer key-of-", "") };
const ctx = (tenant: string) =>
  ({
    requestHeader: new Headers({ authorization: `Bearer key-of-${tenant}` }),
    signal: new AbortController().signal,
  }) as unknown as HandlerContext;
const req = (requestId: string) => create(GetDecisionRecordRequestSchema, { requestId });

test("the tenant its key names reads its own record; the monitor is asked under that tenant only", async () => {
  const asked: [string, string][] = [];
  const route = decisionRoutes({ defaultTimeoutMs: 1000 }, monitor(asked), guard);
  const r = await route.getDecisionRecord!(req("r-1"), ctx("acme"));
  assert.deepEqual(
    [r.requestId, r.model, r.modelVersion, r.decision, r.score],
    ["r-1", "credit-default", "4", Decision.REVIEW, 0.41],
  );
  assert.deepEqual([r.outcome, r.observedOn, r.reasons?.[0]?.code], [Outcome.REPAID, "2026-11-29", "R-PAY_0"]);
  assert.ok(!("tenantId" in r), "the tenant id is not sent back");
  const theirs = await Promise.resolve(route.getDecisionRecord!(req("r-1"), ctx("bank"))).catch((e: unknown) =>
    ConnectError.from(e),
  );
  assert.ok(theirs instanceof ConnectError && theirs.code === Code.NotFound, "another tenant's request is NOT_FOUND");
  assert.deepEqual(
    asked,
    [
      ["acme", "r-1"],
      ["bank", "r-1"],
    ],
    "asked with the authenticated tenant, never the caller's word",
  );
});

test("bad request ids are named; without a monitor address the call is UNAVAILABLE", async () => {
  assert.deepEqual(
    decisionRecordViolations(req("")).map((v) => [v.field, v.reason]),
    [["request_id", "REQUIRED"]],
  );
  assert.deepEqual(
    decisionRecordViolations(req("x".repeat(129))).map((v) => [v.field, v.reason]),
    [["request_id", "TOO_LONG"]],
  );
  const none = decisionRoutes({ defaultTimeoutMs: 1000 }, undefined, guard);
  const e = await Promise.resolve(none.getDecisionRecord!(req("r-1"), ctx("acme"))).catch((x: unknown) =>
    ConnectError.from(x),
  );
  assert.ok(e instanceof ConnectError && e.code === Code.Unavailable, "UNAVAILABLE");
});
