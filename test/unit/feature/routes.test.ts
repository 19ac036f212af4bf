import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { FeatureService } from "../../../gen/scoremesh/feature/v1/feature_pb.js";
import { RouterService, type RouteRequest } from "../../../gen/scoremesh/router/v1/router_pb.js";
import { Decision, Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import {
  featureColumns,
  ModelRepository,
  specHash,
  vectorLength,
  type EntityValues,
} from "../../../services/lib/model/index.js";
import { featureRoutes } from "../../../services/feature/routes.js";
import { CREDIT_INPUTS } from "../../support/credit-data.js";
import { CallLog, inProcessClient, rejectionOf } from "../../support/in-process.js";

const MODEL = "credit-default";
const spec = new ModelRepository(join(PROJECT_ROOT, "models")).spec(MODEL);
const HASH = specHash(spec);
const ENTITY_FEATURES = spec.features.filter((f) => f.source.kind === "entity").map((f) => f.name);
const column = (name: string) => featureColumns(spec).indexOf(name);

/**
 * Entities the fake snapshot knows. C-MEAN's values are the spec's standardization means, so each standardizes
 * to 0; C-PARTIAL lacks one feature.
 */
const ENTITIES = new Map<string, EntityValues>([
  [
    "C-MEAN",
    {
      avg_utilization_6m: 0.372713,
      utilization_change_6m: 0.104391,
      avg_payment_ratio_5m: 0.414979,
      missed_payments_5m: 0.3669,
    },
  ],
  ["C-PARTIAL", { avg_utilization_6m: 0.372713, utilization_change_6m: 0.104391, avg_payment_ratio_5m: 0.414979 }],
]);

/** The feature service's real routes in process, the router faked: it answers one APPROVE per row. */
function featureService() {
  const router = new CallLog<RouteRequest>();
  const routerClient = inProcessClient(RouterService, {
    route(req, ctx) {
      router.record(req, ctx);
      return {
        decisions: req.rows.map((r) => ({
          requestId: r.requestId,
          modelVersion: "2",
          decision: Decision.APPROVE,
          route: Route.PRIMARY,
        })),
      };
    },
  });
  const routes = featureRoutes({
    specs: new Map([[MODEL, { spec, hash: HASH, entities: { get: (id: string) => ENTITIES.get(id) } }]]),
    router: routerClient,
    defaultTimeoutMs: 1000,
  });
  return { feature: inProcessClient(FeatureService, routes), router };
}

test("a known entity's features fill its vector: nothing imputed; the spec hash and the row's ids are passed on", async () => {
  const { feature, router } = featureService();
  const res = await feature.scoreRows({
    model: MODEL,
    rows: [
      {
        requestId: "r-1",
        entityId: "C-MEAN",
        inputs: CREDIT_INPUTS,
        explain: true,
        traceId: "0af7651916cd43dd8448eb211c80319c",
      },
    ],
  });
  const { req } = router.single();
  assert.equal(req.model, MODEL);
  assert.equal(req.featureSpecHash, HASH);
  const row = req.rows[0]!;
  assert.deepEqual(
    [row.requestId, row.entityId, row.explain, row.traceId],
    ["r-1", "C-MEAN", true, "0af7651916cd43dd8448eb211c80319c"],
  );
  assert.equal(row.features.length, vectorLength(spec));
  assert.deepEqual(row.imputed, []);
  for (const f of ENTITY_FEATURES) assert.ok(Math.abs(row.features[column(f)]!) < 1e-6, `${f} standardizes to 0`);
  assert.deepEqual(row.segment, { age_band: "25-34", sex: "male", marriage: "married" });
  assert.deepEqual(
    res.decisions.map((d) => [d.requestId, d.modelVersion, d.decision]),
    [["r-1", "2", Decision.APPROVE]],
  );
});

test("an unknown or missing entity takes the spec's defaults and lists every entity feature as imputed", async () => {
  const { feature, router } = featureService();
  await feature.scoreRows({
    model: MODEL,
    rows: [
      { requestId: "unknown", entityId: "C-NOBODY", inputs: CREDIT_INPUTS },
      { requestId: "none", inputs: CREDIT_INPUTS },
    ],
  });
  const [unknown, none] = router.single().req.rows;
  assert.deepEqual(unknown!.imputed, ENTITY_FEATURES);
  assert.deepEqual(none!.imputed, ENTITY_FEATURES);
  assert.deepEqual(unknown!.features, none!.features);
  // missed_payments_5m defaults to 0, standardized with mean 0.3669 and std 0.764123.
  assert.equal(unknown!.features[column("missed_payments_5m")], Math.fround((0 - 0.3669) / 0.764123));
});

test("an entity lacking one feature has only that one imputed", async () => {
  const { feature, router } = featureService();
  await feature.scoreRows({ model: MODEL, rows: [{ requestId: "p", entityId: "C-PARTIAL", inputs: CREDIT_INPUTS }] });
  assert.deepEqual(router.single().req.rows[0]!.imputed, ["missed_payments_5m"]);
});

test("an unknown model is NOT_FOUND and nothing goes to the router", async () => {
  const { feature, router } = featureService();
  const err = await rejectionOf(
    feature.scoreRows({ model: "nope", rows: [{ requestId: "x", inputs: CREDIT_INPUTS }] }),
  );
  assert.equal(err.code, Code.NotFound);
  assert.equal(err.rawMessage, 'unknown model "nope"');
  assert.equal(router.calls.length, 0);
});

test("the caller's deadline is passed on to the router; without one, the default", async () => {
  const { feature, router } = featureService();
  await feature.scoreRows({ model: MODEL, rows: [{ requestId: "a", inputs: CREDIT_INPUTS }] }, { timeoutMs: 300 });
  await feature.scoreRows({ model: MODEL, rows: [{ requestId: "b", inputs: CREDIT_INPUTS }] });
  const [withDeadline, withoutDeadline] = router.calls.map((c) => c.timeoutMs ?? -1);
  assert.ok(withDeadline! > 100 && withDeadline! <= 300, `caller's deadline: ${withDeadline} ms left at the router`);
  assert.ok(
    withoutDeadline! > 800 && withoutDeadline! <= 1000,
    `default deadline: ${withoutDeadline} ms left at the router`,
  );
});
