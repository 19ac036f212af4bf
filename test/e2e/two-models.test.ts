import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { Code, ConnectError } from "@connectrpc/connect";
import { Decision, Route, type ScoreResponse } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { buildVector, decide, seedChampion, ModelRepository } from "../../services/lib/model/index.js";
import { fieldViolations } from "../../services/lib/rpc/index.js";
import { creditRowsFor } from "../support/credit-data.js";
import { sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const MODELS = ["credit-default", "late-payment"] as const;
type Model = (typeof MODELS)[number];
const seedOf = (model: Model) => seedChampion(repo.versions(model).map((v) => repo.card(model, v)))!;
const rowsOf = Object.fromEntries(MODELS.map((m) => [m, creditRowsFor(repo.spec(m), 40, 500)])) as Record<
  Model,
  Record<string, number>[]
>;
const sessions = new Map<string, ort.InferenceSession>();

/** The score an in-process ONNX Runtime session gives (entity features imputed, as for a call without entity_id). */
async function expectedScore(model: Model, version: string, inputs: Record<string, number>): Promise<number> {
  let s = sessions.get(`${model}/${version}`);
  if (!s) {
    s = await ort.InferenceSession.create(repo.onnxPath(model, version));
    sessions.set(`${model}/${version}`, s);
  }
  const { vector } = buildVector(repo.spec(model), inputs);
  const out = await s.run({ features: new ort.Tensor("float32", vector, [1, vector.length]) });
  return (out["probability"]!.data as Float32Array)[0]!;
}

async function checkAnswer(
  res: ScoreResponse,
  model: Model,
  version: string,
  inputs: Record<string, number>,
): Promise<void> {
  assert.equal(res.model, model);
  assert.equal(res.modelVersion, version, `${model} answered by version ${version}`);
  assert.equal(res.route, Route.PRIMARY);
  assert.ok(
    Math.abs(res.score - (await expectedScore(model, version, inputs))) < 1e-6,
    `${model}: the score of its own model`,
  );
  assert.equal(
    res.decision,
    decide(res.score, repo.card(model, version).thresholds),
    `${model}: its own card's thresholds`,
  );
}

describe("two model families served side by side", () => {
  let fx: MeshFixture;

  before(async () => {
    assert.deepEqual(repo.models(), [...MODELS], "the repository holds both families");
    fx = await startMeshFixture();
  });
  after(async () => {
    await fx?.close();
    for (const s of sessions.values()) await s.release();
  });

  test("each model gets its own serving policy, seeded with its own champion", async () => {
    for (const model of MODELS) {
      const r = await fx.meshctl("policy", model, "--json");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        (JSON.parse(r.stdout) as { championVersion: string }).championVersion,
        seedOf(model),
        `${model}'s seeded champion`,
      );
    }
    const status = await fx.meshctl("status");
    for (const model of MODELS) {
      assert.match(
        status.stdout,
        new RegExp(`${model}\\s+loaded versions: ${repo.versions(model).join(", ")}`),
        `${model}'s versions loaded`,
      );
    }
  });

  test("concurrent calls of both models through the public edge: each answered by its own model and version", async () => {
    const calls = MODELS.flatMap((model) =>
      rowsOf[model].map((inputs, i) => ({ model, inputs, requestId: `${model}-${i}` })),
    );
    // Interleaved and all at once, so the hop batchers see both models in the same windows.
    const answers = await Promise.all(calls.map((c) => fx.scoring.score(c, { timeoutMs: 5000 })));
    const decisions = new Set<Decision>();
    for (const [i, c] of calls.entries()) {
      assert.equal(answers[i]!.requestId, c.requestId);
      await checkAnswer(answers[i]!, c.model, seedOf(c.model), c.inputs);
      decisions.add(answers[i]!.decision);
    }
    assert.ok(decisions.size >= 2, "the credit rows reach more than one decision");

    const res = await fetch(`${fx.httpBase}/scoremesh.scoring.v1.ScoringService/Score`, {
      method: "POST",
      headers: fx.httpHeaders,
      body: JSON.stringify({ model: "late-payment", inputs: rowsOf["late-payment"][0] }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual([body["model"], body["modelVersion"]], ["late-payment", seedOf("late-payment")], "over HTTP too");
  });

  test("set-champion on late-payment moves its traffic and leaves credit-default's policy untouched", async () => {
    const before = JSON.parse((await fx.meshctl("policy", "credit-default", "--json")).stdout) as Record<
      string,
      unknown
    >;
    const other = repo.versions("late-payment").find((v) => v !== seedOf("late-payment"))!;
    const r = await fx.meshctl("set-champion", "late-payment", other);
    assert.equal(r.code, 0, r.stderr);
    const inputs = rowsOf["late-payment"][1]!;
    // Routers switch once the workers report the new champion ready: poll for up to 10 s.
    let answer: ScoreResponse | undefined;
    for (let i = 0; i < 100 && answer?.modelVersion !== other; i++) {
      if (i > 0) await sleep(100);
      answer = await fx.scoring.score({ model: "late-payment", inputs }, { timeoutMs: 5000 });
    }
    await checkAnswer(answer!, "late-payment", other, inputs);

    const after = JSON.parse((await fx.meshctl("policy", "credit-default", "--json")).stdout) as Record<
      string,
      unknown
    >;
    assert.deepEqual(after, before, "credit-default's policy is as it was");
    const credit = rowsOf["credit-default"][1]!;
    await checkAnswer(
      await fx.scoring.score({ model: "credit-default", inputs: credit }, { timeoutMs: 5000 }),
      "credit-default",
      seedOf("credit-default"),
      credit,
    );
  });

  test("each model is validated by its own spec: a credit-default-only field is refused for late-payment", async () => {
    const inputs = { ...rowsOf["late-payment"][2]!, PAY_0: 1 };
    const err = await fx.scoring.score({ model: "late-payment", inputs }, { timeoutMs: 5000 }).then(
      () => assert.fail("late-payment accepted PAY_0"),
      (e: unknown) => ConnectError.from(e),
    );
    assert.equal(err.code, Code.InvalidArgument);
    assert.deepEqual(
      fieldViolations(err).map((v) => [v.field, v.reason]),
      [["inputs.PAY_0", "UNKNOWN_FIELD"]],
    );
    // The same field is an input of credit-default, whose requests without it are refused.
    const credit = { ...rowsOf["credit-default"][2]! };
    delete credit["PAY_0"];
    const missing = await fx.scoring
      .score({ model: "credit-default", inputs: credit })
      .catch((e: unknown) => ConnectError.from(e));
    assert.ok(missing instanceof ConnectError);
    assert.deepEqual(
      fieldViolations(missing).map((v) => [v.field, v.reason]),
      [["inputs.PAY_0", "REQUIRED"]],
    );
  });

  test("no worker left: credit-default falls back to its rules baseline, late-payment (none) fails with a clear UNAVAILABLE", async () => {
    fx.mesh.processes.get("model-worker")!.kill("SIGKILL");
    const credit = await fx.scoring.score(
      { model: "credit-default", inputs: rowsOf["credit-default"][3]! },
      { timeoutMs: 5000 },
    );
    assert.deepEqual([credit.route, credit.degraded, credit.modelVersion], [Route.RULES, true, "rules"]);
    const err = await fx.scoring
      .score({ model: "late-payment", inputs: rowsOf["late-payment"][3]! }, { timeoutMs: 5000 })
      .then(
        () => assert.fail("late-payment answered without a worker"),
        (e: unknown) => ConnectError.from(e),
      );
    assert.equal(err.code, Code.Unavailable);
    assert.match(err.rawMessage, /no model of late-payment could answer and it has no rules baseline/);
  });
});
