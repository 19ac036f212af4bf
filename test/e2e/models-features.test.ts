import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { Decision } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { buildVector, specHash, decide, seedChampion, ModelRepository } from "../../services/lib/model/index.js";
import { explainerFor, topReasons } from "../../services/router/explain/reasons.js";
import { createGrpcTransport, HealthProbe } from "../../services/lib/rpc/index.js";
import { controlPolicies } from "../support/policy-writer.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
/** A version added to a copy of the repository, trained (says its card) with another feature spec. */
const SKEWED = "9";

describe("models and features end to end: the tree champion, reason codes, the skew guard", () => {
  let fx: MeshFixture;
  let repoDir: string;
  let repo: ModelRepository;
  let seed: string;

  before(async () => {
    // A copy of the repository (without the training data) plus a version whose card names another spec.
    repoDir = mkdtempSync(join(tmpdir(), "scoremesh-models-"));
    cpSync(join(PROJECT_ROOT, "models", MODEL), join(repoDir, MODEL), {
      recursive: true,
      filter: (src) => !src.includes("/data"),
    });
    cpSync(join(repoDir, MODEL, "1"), join(repoDir, MODEL, SKEWED), { recursive: true });
    const card = JSON.parse(readFileSync(join(repoDir, MODEL, "1", "card.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(
      join(repoDir, MODEL, SKEWED, "card.json"),
      JSON.stringify({ ...card, version: SKEWED, feature_spec_hash: "sha256:0123456789abcdef" }),
    );
    repo = new ModelRepository(repoDir);
    seed = seedChampion(repo.versions(MODEL).map((v) => repo.card(MODEL, v)))!;
    fx = await startMeshFixture({ MODEL_REPOSITORY: repoDir });
  });
  after(async () => {
    await fx?.close();
    if (repoDir) rmSync(repoDir, { recursive: true, force: true });
  });

  test("1,000 rows: the tree champion's scores equal an in-process ONNX Runtime run; reasons are exact and due", async () => {
    assert.equal(repo.card(MODEL, seed).algorithm, "gradient_boosted_trees", "the seeded champion is the tree model");
    const rows = creditRows(1000, 2000);
    const spec = repo.spec(MODEL);
    const card = repo.card(MODEL, seed);
    const cols = card.features.length;
    const matrix = new Float32Array(rows.length * cols);
    rows.forEach((inputs, i) => buildVector(spec, inputs, undefined, matrix, i * cols));
    const session = await ort.InferenceSession.create(repo.onnxPath(MODEL, seed));
    const expected = (await session.run({ features: new ort.Tensor("float32", matrix, [rows.length, cols]) }))[
      "probability"
    ]!.data as Float32Array;
    await session.release();
    const explainer = explainerFor(card, () => readFileSync(repo.onnxPath(MODEL, seed)))!;

    const counts = { approve: 0, withReasons: 0 };
    for (let start = 0; start < rows.length; start += 250) {
      const chunk = rows.slice(start, start + 250);
      const res = await fx.scoring.scoreBatch(
        {
          requests: chunk.map((inputs, k) => ({
            model: MODEL,
            requestId: `r-${start + k}`,
            inputs,
            explain: (start + k) % 2 === 0,
          })),
        },
        { timeoutMs: 10_000 },
      );
      res.responses.forEach((r, k) => {
        const i = start + k;
        assert.equal(r.modelVersion, seed);
        assert.ok(Math.abs(r.score - expected[i]!) < 1e-6, `row ${i}: served ${r.score}, in-process ${expected[i]}`);
        assert.equal(r.decision, decide(r.score, card.thresholds));
        const due = r.decision !== Decision.APPROVE || i % 2 === 0;
        const want = due
          ? topReasons(card.features, explainer.explain(matrix.subarray(i * cols, (i + 1) * cols)).contributions)
          : [];
        assert.deepEqual(
          r.reasons.map((x) => [x.code, x.feature, x.contribution]),
          want.map((x) => [x.code, x.feature, x.contribution]),
          `row ${i}: reasons`,
        );
        if (r.decision === Decision.APPROVE) counts.approve++;
        if (r.reasons.length > 0) counts.withReasons++;
        if (r.decision !== Decision.APPROVE)
          assert.ok(r.reasons.length > 0, `row ${i}: a ${Decision[r.decision]} without reasons`);
      });
    }
    assert.ok(counts.approve > 500 && counts.approve < 900, `${counts.approve} approvals`);
    assert.ok(counts.withReasons > 500, `${counts.withReasons} rows with reasons`);
  });

  test("skew guard: the router refuses vectors of another spec, and never adopts a version trained on one", async () => {
    const transport = createGrpcTransport({
      address: fx.mesh.env["ROUTER_ADDR"]!,
      credentials: fx.mesh.credentials("router"),
    });
    try {
      const router = createClient(RouterService, transport);
      const [inputs] = creditRows(1);
      const { vector } = buildVector(repo.spec(MODEL), inputs!);
      await assert.rejects(
        router.route(
          {
            model: MODEL,
            featureSpecHash: "sha256:ffffffffffffffff",
            rows: [{ requestId: "x", features: Array.from(vector) }],
          },
          { timeoutMs: 5000 },
        ),
        (err: unknown) =>
          ConnectError.from(err).code === Code.FailedPrecondition && /sha256:ffffffffffffffff/.test(String(err)),
      );
    } finally {
      transport.close();
    }

    // meshctl refuses it (no worker has it ready: the workers' skew guard refuses it) ...
    const set = await fx.meshctl("set-champion", MODEL, SKEWED);
    assert.equal(set.code, 1, set.stdout);
    assert.match(set.stderr, new RegExp(`no model worker has ${MODEL} version ${SKEWED} ready.*refused by`));
    // ... and a policy that names it anyway (written to the bucket by other means) never takes traffic either.
    const { store, nc } = await controlPolicies(fx.mesh);
    await store.put({ model: MODEL, championVersion: SKEWED });
    await nc.close();
    await new Promise((r) => setTimeout(r, 1500));
    for (const inputs of creditRows(20)) {
      const res = await fx.scoring.score({ model: MODEL, inputs }, { timeoutMs: 5000 });
      assert.equal(res.modelVersion, seed, "the skewed version never takes traffic");
    }
    const routerLog = readFileSync(join(fx.mesh.logDir, "router.log"), "utf8");
    const specInUse = specHash(repo.spec(MODEL));
    assert.match(
      routerLog,
      new RegExp(
        `version ${SKEWED} was trained with feature spec sha256:0123456789abcdef, but the spec in use is ${specInUse}`,
      ),
    );
    const featureLog = readFileSync(join(fx.mesh.logDir, "feature.log"), "utf8");
    assert.match(featureLog, /sha256:0123456789abcdef/, "the feature service names the skewed version at start");

    // The worker refuses it too: never loaded, FAILED_PRECONDITION naming both hashes, its health part NOT_SERVING.
    const wt = createGrpcTransport({
      address: fx.mesh.env["WORKER_ADDR"]!,
      credentials: fx.mesh.credentials("model-worker"),
    });
    const probe = new HealthProbe(fx.mesh.env["WORKER_ADDR"]!, fx.mesh.credentials("model-worker"));
    try {
      const worker = createClient(GRPCInferenceService, wt);
      assert.equal((await worker.modelReady({ name: MODEL, version: SKEWED })).ready, false);
      assert.equal((await worker.modelReady({ name: MODEL, version: seed })).ready, true);
      const cols = repo.card(MODEL, seed).features.length;
      await assert.rejects(
        worker.modelInfer({
          modelName: MODEL,
          modelVersion: SKEWED,
          inputs: [
            {
              name: "features",
              datatype: "FP32",
              shape: [1n, BigInt(cols)],
              contents: { fp32Contents: new Array<number>(cols).fill(0) },
            },
          ],
        }),
        (err: unknown) =>
          ConnectError.from(err).code === Code.FailedPrecondition &&
          String(err).includes("sha256:0123456789abcdef") &&
          String(err).includes(specInUse),
      );
      assert.equal(await probe.check(`model:${MODEL}/${SKEWED}`), "NOT_SERVING");
      assert.equal(await probe.check(`model:${MODEL}/${seed}`), "SERVING");
      assert.equal(await probe.check(""), "SERVING", "the worker keeps serving the other versions");
      const featureProbe = new HealthProbe(fx.mesh.env["FEATURE_ADDR"]!, fx.mesh.credentials("feature"));
      assert.equal(
        await featureProbe.check(`model:${MODEL}/${SKEWED}`),
        "NOT_SERVING",
        "the feature service's health names it too",
      );
      assert.equal(await featureProbe.check(`model:${MODEL}/${seed}`), "SERVING");
      featureProbe.close();
      const workerLog = readFileSync(join(fx.mesh.logDir, "model-worker.log"), "utf8");
      assert.match(
        workerLog,
        new RegExp(`"cardFeatureSpecHash":"sha256:0123456789abcdef","featureSpecHashInUse":"${specInUse}"`),
      );
    } finally {
      probe.close();
      wt.close();
    }
  });
});
