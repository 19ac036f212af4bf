import type { Client } from "@connectrpc/connect";
import { pino } from "pino";
import { GRPCInferenceService } from "../../../gen/inference/grpc_predict_v2_pb.js";
import {
  copyFloats,
  floatBytes,
  specHash,
  type FeatureSpec,
  type ModelCard,
  type ModelRepository,
} from "../../../services/lib/model/index.js";
import { Reasoner } from "../../../services/router/explain/reasoner.js";
import { RULES_VERSION, rulesBaselineFor, type RulesScorecard } from "../../../services/lib/model/index.js";
import { CliError } from "../output.js";
import { replayDecision, type ReplayOutcome } from "./rebuild.js";

/** What decides a replayed score: the record's degraded flag, band and explain flag. */
export interface DecisionContext {
  degraded: boolean;
  reviewBand: number;
  explain: boolean;
}

/**
 * Scores replayed vectors the way the router did: a model version on a model worker (KServe v2 ModelInfer, one
 * call per batch of rows), the rules baseline ("rules") in process with the router's own scorecard; decisions with
 * the version's card (or the rules') and reasons with the router's own explainers.
 */
export class ReplayScorer {
  private readonly reasoner: Reasoner;
  private readonly specs = new Map<string, { spec: FeatureSpec; hash: string } | undefined>();
  private readonly rules = new Map<string, RulesScorecard | undefined>();
  /** Worker calls made and rows scored on workers. */
  calls = 0;

  constructor(
    private readonly repo: ModelRepository,
    private readonly worker: Client<typeof GRPCInferenceService>,
    private readonly timeoutMs = 10_000,
  ) {
    this.reasoner = new Reasoner(repo, pino({ level: "silent" }));
  }

  /** The repository's feature spec of a model and its hash; undefined when the repository has no such model. */
  spec(model: string): { spec: FeatureSpec; hash: string } | undefined {
    if (!this.specs.has(model)) {
      const known = this.repo.models().includes(model);
      const spec = known ? this.repo.spec(model) : undefined;
      this.specs.set(model, spec && { spec, hash: specHash(spec) });
    }
    return this.specs.get(model);
  }

  card(model: string, version: string): ModelCard {
    try {
      return this.repo.card(model, version);
    } catch (err) {
      throw new CliError(`no card of ${model} version ${version} in the repository: ${(err as Error).message}`);
    }
  }

  /** The scores of `vectors` (each the spec's width) by `version`: float32 from a worker, or the rules' doubles. */
  async score(model: string, version: string, vectors: readonly Float32Array[]): Promise<number[]> {
    if (vectors.length === 0) return [];
    if (version === RULES_VERSION) {
      const rules = this.rulesOf(model);
      return vectors.map((v) => rules.score(v).score);
    }
    const card = this.card(model, version);
    const width = card.features.length;
    const matrix = new Float32Array(vectors.length * width);
    vectors.forEach((v, i) => {
      if (v.length !== width)
        throw new CliError(`a vector of ${v.length} features; ${model} v${version} takes ${width}`);
      matrix.set(v, i * width);
    });
    this.calls++;
    const res = await this.worker.modelInfer(
      {
        modelName: model,
        modelVersion: version,
        inputs: [{ name: card.onnx.inputs[0]!.name, datatype: "FP32", shape: [BigInt(vectors.length), BigInt(width)] }],
        outputs: [{ name: card.onnx.score_output }],
        rawInputContents: [floatBytes(matrix)],
      },
      { timeoutMs: this.timeoutMs },
    );
    const raw = res.rawOutputContents[0];
    if (!raw || raw.byteLength !== vectors.length * 4)
      throw new CliError(`the worker returned ${raw?.byteLength ?? 0} bytes for ${vectors.length} scores`);
    return Array.from(copyFloats(raw, vectors.length));
  }

  /** The decision, thresholds and reasons the router makes of a score by `version` (reasons only for models). */
  outcome(model: string, version: string, vector: Float32Array, score: number, c: DecisionContext): ReplayOutcome {
    if (version === RULES_VERSION) {
      const thresholds = this.rulesOf(model).thresholds();
      return { score, thresholds, decision: replayDecision(score, thresholds, c), reasons: [] };
    }
    const card = this.card(model, version);
    const decision = replayDecision(score, card.thresholds, c);
    const reasons = this.reasoner.forRow(model, version, card, vector, decision, c.explain);
    return { score, thresholds: card.thresholds, decision, reasons };
  }

  private rulesOf(model: string): RulesScorecard {
    if (!this.rules.has(model)) {
      const s = this.spec(model);
      this.rules.set(model, s && rulesBaselineFor(s.spec));
    }
    const r = this.rules.get(model);
    if (!r) throw new CliError(`model ${model} has no rules baseline to replay against`);
    return r;
  }
}
