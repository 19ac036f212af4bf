import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  FeatureService,
  type ScoreRowsRequest,
  type ScoreRowsResponseSchema,
} from "../../../gen/scoremesh/feature/v1/feature_pb.js";
import { Decision, Route, ScoringService } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import {
  buildVector,
  decideDegraded,
  ModelRepository,
  RULES_VERSION,
  RulesScorecard,
} from "../../../services/lib/model/index.js";
import { fieldViolations } from "../../../services/lib/rpc/index.js";
import { scoringRoutes, type EdgeDeps, type ScoreResponseInit } from "../../../services/validator/routes.js";
import { IdempotencyCache } from "../../../services/validator/idempotency/idempotency-cache.js";
import { systemClock } from "../../../services/lib/service/index.js";
import { TenantSchema } from "../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { EDGE_RULES_HEADER, EdgeRules } from "../../../services/validator/edge-rules.js";
import { CREDIT_INPUTS } from "../../support/credit-data.js";
import { CallLog, inProcessClient, rejectionOf } from "../../support/in-process.js";

const MODEL = "credit-default";
/** A second known model with the same spec, for the mixed-model batch. */
const OTHER_MODEL = "credit-default-copy";
const DEFAULT_TIMEOUT_MS = 1500;
const REVIEW_BAND = 0.02;
const models = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = models.spec(MODEL);

type ScoreRowsAnswer = (req: ScoreRowsRequest) => MessageInitShape<typeof ScoreRowsResponseSchema>;

/** One decision per row, as the mesh would answer (version 3, REVIEW on the canary, one reason; scores 0.1, 0.2, ...). */
const decideEveryRow: ScoreRowsAnswer = (req) => ({
  decisions: req.rows.map((r, i) => ({
    requestId: r.requestId,
    modelVersion: "3",
    score: (i + 1) / 10,
    decision: Decision.REVIEW,
    route: Route.CANARY,
    degraded: true,
    reasons: [{ code: "R-PAY_0", feature: "PAY_0", contribution: 0.3 }],
    imputedFeatures: ["avg_utilization_6m"],
  })),
});

/** The validator's real routes in process (with the edge's rules), its feature service faked by `answer`. */
function validator(answer: ScoreRowsAnswer = decideEveryRow, extra: Partial<EdgeDeps> = {}) {
  const feature = new CallLog<ScoreRowsRequest>();
  const specs = new Map([
    [MODEL, spec],
    [OTHER_MODEL, spec],
  ]);
  const featureClient = inProcessClient(FeatureService, {
    scoreRows(req, ctx) {
      feature.record(req, ctx);
      return answer(req);
    },
  });
  const routes = scoringRoutes({
    specs,
    feature: featureClient,
    defaultTimeoutMs: DEFAULT_TIMEOUT_MS,
    maxBatchRows: 4,
    rules: new EdgeRules(specs, { reviewBand: REVIEW_BAND, reserveMs: 25 }),
    ...extra,
  });
  return { scoring: inProcessClient(ScoringService, routes), feature };
}

const violationsOf = (err: ConnectError) => fieldViolations(err).map((v) => `${v.field} ${v.reason}`);

test("a valid request passes its validated row to the feature service and returns the decision", async () => {
  const { scoring, feature } = validator();
  const res = await scoring.score({
    requestId: "r-1",
    model: MODEL,
    entityId: "C00000",
    inputs: { ...CREDIT_INPUTS },
    explain: true,
  });

  const { req } = feature.single();
  assert.equal(req.model, MODEL);
  assert.equal(req.rows.length, 1);
  const row = req.rows[0]!;
  assert.deepEqual([row.requestId, row.entityId, row.explain, row.traceId], ["r-1", "C00000", true, ""]);
  assert.deepEqual(row.inputs, CREDIT_INPUTS);

  assert.deepEqual(
    [res.requestId, res.model, res.modelVersion, res.score, res.decision, res.route, res.degraded],
    ["r-1", MODEL, "3", 0.1, Decision.REVIEW, Route.CANARY, true],
  );
  assert.deepEqual(
    res.reasons.map((r) => [r.code, r.feature, r.contribution]),
    [["R-PAY_0", "PAY_0", 0.3]],
  );
  assert.deepEqual(res.imputedFeatures, ["avg_utilization_6m"]);
});

test("a request without a request_id gets a generated one, and the row has no entity", async () => {
  const { scoring, feature } = validator();
  const res = await scoring.score({ model: MODEL, inputs: { ...CREDIT_INPUTS } });
  const row = feature.single().req.rows[0]!;
  assert.match(row.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(row.entityId, "");
  assert.equal(res.requestId, row.requestId);
});

test("the caller's deadline is passed downstream; without one, the default", async () => {
  const { scoring, feature } = validator();
  await scoring.score({ model: MODEL, inputs: { ...CREDIT_INPUTS } }, { timeoutMs: 800 });
  await scoring.score({ model: MODEL, inputs: { ...CREDIT_INPUTS } });
  const [withDeadline, withoutDeadline] = feature.calls.map((c) => c.timeoutMs ?? -1);
  assert.ok(withDeadline! > 500 && withDeadline! <= 800, `caller's deadline: ${withDeadline} ms left downstream`);
  assert.ok(
    withoutDeadline! > 1200 && withoutDeadline! <= DEFAULT_TIMEOUT_MS,
    `default deadline: ${withoutDeadline} ms left downstream`,
  );
});

test("bad input is INVALID_ARGUMENT with a BadRequest naming every bad field, and nothing goes downstream", async () => {
  const { scoring, feature } = validator();
  const { PAY_0: _missing, ...withoutPay0 } = CREDIT_INPUTS;
  const inputs = { ...withoutPay0, AGE: "thirty", SEX: 3, EDUCATION: 1.5, FAVOURITE_COLOUR: "blue" };
  const err = await rejectionOf(scoring.score({ requestId: "has space", model: MODEL, inputs }));
  assert.equal(err.code, Code.InvalidArgument);
  assert.match(err.rawMessage, /^6 invalid fields: /);
  assert.deepEqual(violationsOf(err), [
    "request_id BAD_FORMAT",
    "inputs.FAVOURITE_COLOUR UNKNOWN_FIELD",
    "inputs.SEX OUT_OF_RANGE",
    "inputs.EDUCATION NOT_INTEGER",
    "inputs.AGE WRONG_TYPE",
    "inputs.PAY_0 REQUIRED",
  ]);
  const age = fieldViolations(err).find((v) => v.field === "inputs.AGE");
  assert.equal(age?.description, 'must be a number, got the string "thirty"');
  assert.equal(feature.calls.length, 0);
});

test("an unknown or missing model is INVALID_ARGUMENT naming the known models", async () => {
  const { scoring, feature } = validator();
  const unknown = await rejectionOf(scoring.score({ model: "credit-defualt", inputs: { ...CREDIT_INPUTS } }));
  assert.equal(unknown.code, Code.InvalidArgument);
  assert.deepEqual(violationsOf(unknown), ["model UNKNOWN_MODEL"]);
  assert.match(unknown.rawMessage, /unknown model "credit-defualt" \(known: credit-default, credit-default-copy\)/);
  const missing = await rejectionOf(scoring.score({ inputs: { ...CREDIT_INPUTS } }));
  assert.deepEqual(violationsOf(missing), ["model REQUIRED"]);
  assert.equal(feature.calls.length, 0);
});

test("ScoreBatch sends one ScoreRows for the batch and answers in order", async () => {
  const { scoring, feature } = validator();
  const requests = ["a", "b", "c"].map((id) => ({ requestId: id, model: MODEL, inputs: { ...CREDIT_INPUTS } }));
  const res = await scoring.scoreBatch({ requests });
  assert.deepEqual(
    feature.single().req.rows.map((r) => r.requestId),
    ["a", "b", "c"],
  );
  assert.deepEqual(
    res.responses.map((r) => [r.requestId, r.score]),
    [
      ["a", 0.1],
      ["b", 0.2],
      ["c", 0.3],
    ],
  );
});

test("ScoreBatch names each bad field by its request's index; an empty, oversized or mixed batch is refused", async () => {
  const { scoring, feature } = validator();
  const good = { model: MODEL, inputs: { ...CREDIT_INPUTS } };
  const bad = await rejectionOf(
    scoring.scoreBatch({ requests: [good, { model: MODEL, inputs: { ...CREDIT_INPUTS, AGE: 12 } }] }),
  );
  assert.deepEqual(violationsOf(bad), ["requests[1].inputs.AGE OUT_OF_RANGE"]);
  assert.deepEqual(violationsOf(await rejectionOf(scoring.scoreBatch({ requests: [] }))), ["requests REQUIRED"]);
  const five = await rejectionOf(scoring.scoreBatch({ requests: [good, good, good, good, good] }));
  assert.deepEqual(violationsOf(five), ["requests TOO_MANY_ROWS"]);
  const mixed = await rejectionOf(scoring.scoreBatch({ requests: [good, { ...good, model: OTHER_MODEL }] }));
  assert.deepEqual(violationsOf(mixed), ["requests[1].model MIXED_MODELS"]);
  assert.equal(feature.calls.length, 0);
});

/** Rows of credit-default: a clean payer, one a month late, one two months late on a full card. */
const RULE_ROWS = [
  { ...CREDIT_INPUTS, PAY_0: -1, PAY_2: -1, PAY_3: -1, PAY_4: -1, PAY_5: -1, PAY_6: -1 },
  { ...CREDIT_INPUTS, PAY_0: 1, PAY_2: 0 },
  { ...CREDIT_INPUTS, PAY_0: 2, PAY_2: 2, PAY_3: 2, BILL_AMT1: 95_000, LIMIT_BAL: 100_000, PAY_AMT1: 0 },
];

for (const code of [Code.Unavailable, Code.DeadlineExceeded]) {
  test(`no feature or router replica answers (${Code[code]}): the edge decides by the rules, as a router would`, async () => {
    const { scoring, feature } = validator(() => {
      throw new ConnectError("No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1", code);
    });
    const requests = RULE_ROWS.map((inputs, i) => ({ requestId: `r-${i}`, model: MODEL, entityId: "C00001", inputs }));
    let header: string | null = null;
    const res = await scoring.scoreBatch({ requests }, { onHeader: (h) => (header = h.get(EDGE_RULES_HEADER)) });
    assert.equal(feature.calls.length, 1);
    assert.equal(header, `rules at the edge: the mesh answered ${Code[code]}`);
    const rules = new RulesScorecard(spec);
    // What a router's rules decide for the same row: the vector the feature service builds, entity features included.
    const entity = {
      avg_utilization_6m: 0.9,
      utilization_change_6m: 0.2,
      avg_payment_ratio_5m: 0.01,
      missed_payments_5m: 3,
    };
    const decisions = res.responses.map((r, i) => {
      const routerScore = rules.score(buildVector(spec, RULE_ROWS[i]!, entity).vector).score;
      assert.deepEqual(
        [r.requestId, r.model, r.modelVersion, r.route, r.degraded, r.reasons, r.score],
        [`r-${i}`, MODEL, RULES_VERSION, Route.RULES, true, [], routerScore],
      );
      assert.equal(r.decision, decideDegraded(routerScore, rules.thresholds(), REVIEW_BAND));
      return r.decision;
    });
    assert.deepEqual(decisions, [Decision.APPROVE, Decision.REVIEW, Decision.DECLINE]);
  });
}

test("a model without rules (late-payment) or another downstream error keeps the error", async () => {
  const late = models.spec("late-payment");
  const unavailable = () => {
    throw new ConnectError("router is not serving", Code.Unavailable);
  };
  const noRules = validator(unavailable, {
    specs: new Map([["late-payment", late]]),
    rules: new EdgeRules(new Map([["late-payment", late]]), { reviewBand: REVIEW_BAND, reserveMs: 25 }),
  });
  const inputs = Object.fromEntries(late.inputs.map((i) => [i.name, CREDIT_INPUTS[i.name] ?? 0]));
  const err = await rejectionOf(noRules.scoring.score({ model: "late-payment", inputs }));
  assert.deepEqual([err.code, err.rawMessage], [Code.Unavailable, "router is not serving"]);
  const { scoring } = validator(() => {
    throw new ConnectError("bad vector", Code.Internal);
  });
  const internal = await rejectionOf(scoring.score({ model: MODEL, inputs: { ...CREDIT_INPUTS } }));
  assert.deepEqual([internal.code, internal.rawMessage], [Code.Internal, "bad vector"]);
});

test("with rules, the downstream call gets the caller's deadline less the rules' reserve", async () => {
  const { scoring, feature } = validator();
  await scoring.score({ model: MODEL, inputs: { ...CREDIT_INPUTS } }, { timeoutMs: 400 });
  const left = feature.single().timeoutMs ?? -1;
  assert.ok(left <= 375 && left > 200, `${left} ms left downstream of 400 - 25`);
});

test("a feature service answering the wrong number of decisions is INTERNAL", async () => {
  const { scoring } = validator(() => ({ decisions: [] }));
  const err = await rejectionOf(scoring.score({ model: MODEL, inputs: { ...CREDIT_INPUTS } }));
  assert.equal(err.code, Code.Internal);
  assert.equal(err.rawMessage, "the mesh answered 0 decisions for 1 rows");
});

/** A validator with the idempotency cache and a guard whose tenant is the authorization header; charges logged. */
function idempotent(answer: ScoreRowsAnswer = decideEveryRow) {
  const charged: [string, number][] = [];
  const v = validator(answer, {
    idempotency: new IdempotencyCache<ScoreResponseInit>(
      { windowMs: 60_000, maxEntries: 100, maxBytes: 1 << 20 },
      systemClock,
    ),
    guard: {
      identify: (authorization) => create(TenantSchema, { id: authorization ?? "" }),
      charge: (tenant, rows) => void charged.push([tenant.id, rows]),
    },
  });
  const as = (tenant: string) => ({ headers: { authorization: tenant } });
  return { ...v, charged, as };
}

const retried = { requestId: "r-1", model: MODEL, inputs: { ...CREDIT_INPUTS } };

test("a retried Score (same tenant, request id, inputs) gets the same answer, scored and charged once", async () => {
  const { scoring, feature, charged, as } = idempotent();
  const first = await scoring.score(retried, as("acme"));
  const again = await scoring.score({ ...retried, inputs: { ...CREDIT_INPUTS } }, as("acme"));
  assert.deepEqual(again, first);
  assert.equal(feature.calls.length, 1);
  assert.deepEqual(charged, [["acme", 1]]);
  // Another tenant's request with the same id is its own request.
  await scoring.score(retried, as("other"));
  assert.equal(feature.calls.length, 2);
  assert.deepEqual(charged, [
    ["acme", 1],
    ["other", 1],
  ]);
});

test("concurrent duplicates share one in-flight call", async () => {
  const { scoring, feature, charged, as } = idempotent();
  const answers = await Promise.all([1, 2, 3].map(() => scoring.score(retried, as("acme"))));
  assert.equal(feature.calls.length, 1);
  assert.deepEqual(charged, [["acme", 1]]);
  assert.deepEqual(answers[1], answers[0]);
  assert.deepEqual(answers[2], answers[0]);
});

test("a request id reused with other inputs is INVALID_ARGUMENT on request_id, not scored, not charged", async () => {
  const { scoring, feature, charged, as } = idempotent();
  await scoring.score(retried, as("acme"));
  const err = await rejectionOf(scoring.score({ ...retried, inputs: { ...CREDIT_INPUTS, AGE: 41 } }, as("acme")));
  assert.equal(err.code, Code.InvalidArgument);
  assert.deepEqual(violationsOf(err), ["request_id REQUEST_ID_REUSED"]);
  assert.equal(feature.calls.length, 1);
  assert.deepEqual(charged, [["acme", 1]]);
});

test("ScoreBatch is idempotent per row: only new request ids are scored and charged", async () => {
  const { scoring, feature, charged, as } = idempotent();
  const first = await scoring.score(retried, as("acme"));
  const b = { requestId: "r-2", model: MODEL, inputs: { ...CREDIT_INPUTS, AGE: 50 } };
  const res = await scoring.scoreBatch({ requests: [retried, b, b] }, as("acme"));
  assert.deepEqual(res.responses[0], first);
  assert.deepEqual(res.responses[2], res.responses[1], "a repeated row of the batch is one request");
  assert.deepEqual(
    feature.calls[1]!.req.rows.map((r) => r.requestId),
    ["r-2"],
  );
  assert.deepEqual(charged, [
    ["acme", 1],
    ["acme", 1],
  ]);
  const err = await rejectionOf(
    scoring.scoreBatch({ requests: [b, { ...b, inputs: { ...CREDIT_INPUTS } }] }, as("acme")),
  );
  assert.deepEqual(violationsOf(err), ["requests[1].request_id REQUEST_ID_REUSED"]);
});

test("a failed call is not kept: its retry is scored", async () => {
  let fail = true;
  const { scoring, feature } = idempotent((req) => {
    if (fail) throw new ConnectError("bad vector", Code.Internal);
    return decideEveryRow(req);
  });
  await rejectionOf(scoring.score(retried));
  fail = false;
  const res = await scoring.score(retried);
  assert.equal(res.requestId, "r-1");
  assert.equal(feature.calls.length, 2);
});
