/**
 * The baseline a team would write instead of the mesh: one grpc-js process that validates the request,
 * builds the feature vector and runs ONNX Runtime for each request on its own (no batching, no hops), then
 * maps the score to a decision. Same public API (ScoringService/Score), same validation, features and model.
 *
 * Run by test/bench/main.ts: BASELINE_ADDR=127.0.0.1:0 node dist/test/bench/baseline-server.js
 * (prints "listening <port>" once it can answer).
 */
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import * as ort from "onnxruntime-node";
import pino from "pino";
import { Route, ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { buildVector, decide, seedChampion, ModelRepository } from "../../services/lib/model/index.js";
import { invalidArgument, MeshCredentials } from "../../services/lib/rpc/index.js";
import { ServiceHost } from "../../services/lib/service/index.js";
import { validateInputs } from "../../services/validator/validation.js";

const MODEL = "credit-default";
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = repo.spec(MODEL);
/** The version the mesh serves when it starts (its seeded champion), so that both run the same model. */
const VERSION = seedChampion(repo.versions(MODEL).map((v) => repo.card(MODEL, v)))!;
const card = repo.card(MODEL, VERSION);
const session = await ort.InferenceSession.create(repo.onnxPath(MODEL, VERSION), {
  executionProviders: ["cpu"],
  intraOpNumThreads: 1,
  graphOptimizationLevel: "all",
});
const inputName = card.onnx.inputs[0]!.name;
const cols = card.features.length;

const host = new ServiceHost({
  name: "baseline",
  address: process.env["BASELINE_ADDR"] ?? "127.0.0.1:0",
  // One process, no internal hop: plaintext, as the validator's public edge by default (VALIDATOR_PUBLIC_TLS=off).
  credentials: MeshCredentials.plaintext().server(),
  log: pino({ level: "warn" }),
});
host.add(ScoringService, {
  async score(req) {
    const checked = validateInputs(spec, req.inputs, "inputs");
    if (checked.violations.length) throw invalidArgument(checked.violations);
    const { vector } = buildVector(spec, checked.values);
    const out = await session.run({ [inputName]: new ort.Tensor("float32", vector, [1, cols]) });
    const score = (out[card.onnx.score_output]!.data as Float32Array)[0]!;
    return {
      requestId: req.requestId || randomUUID(),
      model: MODEL,
      modelVersion: VERSION,
      score,
      decision: decide(score, card.thresholds),
      route: Route.PRIMARY,
    };
  },
});
const port = await host.listen();
host.setServing(true);
process.stdout.write(`listening ${port}\n`);
process.on("SIGTERM", () => void host.close().then(() => process.exit(0)));
