import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { Registry } from "prom-client";
import { ScoringService } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { EDGE_TENANT, EdgeMetrics, refusalOf } from "../../../services/validator/edge-metrics.js";

const ctx = () => ({ values: createContextValues() }) as unknown as HandlerContext;

async function series(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await registry.getSingleMetric("scoremesh_edge_requests_total")!.get()).values) {
    const l = v.labels;
    out[`${l["listener"]} ${l["rpc_method"]} ${l["grpc_code"]} ${l["tenant"]} ${l["model"]}`] = v.value;
  }
  return out;
}

test("the edge counts each answer with its code, the admitted tenant and a known model", async () => {
  const registry = new Registry();
  const m = new EdgeMetrics(registry, new Set(["credit-default"]));
  const routes = m.wrap(
    ScoringService,
    {
      score(req, c) {
        if (req.model === "limited") throw refusalOf(new ConnectError("over rate", Code.ResourceExhausted), "acme");
        c.values.set(EDGE_TENANT, "acme");
        if (req.model !== "credit-default") throw new ConnectError("unknown model", Code.InvalidArgument);
        return {};
      },
    },
    "http",
  );
  await routes.score!({ model: "credit-default" } as never, ctx());
  await routes.score!({ model: "credit-default" } as never, ctx());
  await assert.rejects(Promise.resolve(routes.score!({ model: "nope" } as never, ctx())));
  await assert.rejects(Promise.resolve(routes.score!({ model: "limited" } as never, ctx())));
  m.refused("grpc", "/scoremesh.scoring.v1.ScoringService/ScoreBatch", Code.ResourceExhausted);
  assert.deepEqual(await series(registry), {
    "http Score OK acme credit-default": 2,
    "http Score INVALID_ARGUMENT acme unknown": 1,
    "http Score RESOURCE_EXHAUSTED acme unknown": 1,
    "grpc ScoreBatch RESOURCE_EXHAUSTED none unknown": 1,
  });
});

test("the tenant label is bounded: past 50 tenants, the rest are other", async () => {
  const registry = new Registry();
  const m = new EdgeMetrics(registry, new Set(["m"]));
  for (let i = 0; i < 60; i++) m.count("grpc", "Score", 0, `t${i}`, "m");
  const s = await series(registry);
  assert.equal(Object.keys(s).length, 51);
  assert.equal(s["grpc Score OK other m"], 10);
});
