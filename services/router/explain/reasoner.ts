import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import type { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { ModelCard, ModelRepository } from "../../lib/model/index.js";
import { explainerFor, topReasons, wantsReasons, type Explainer, type ReasonCode } from "./reasons.js";

/**
 * Reason codes for the router's decisions: one explainer per model version, built on first use from the
 * version's card (linear models) or its own model.onnx (trees, TreeSHAP), so the reasons explain exactly the
 * model that scored. Reviews and declines always get reasons; approvals when the row asked (explain).
 */
export class Reasoner {
  private readonly explainers = new Map<string, Explainer | null>();

  constructor(
    private readonly repo: ModelRepository,
    private readonly log: Logger,
  ) {}

  /** The reasons of one decision: [] when none are due or the version cannot be explained. */
  forRow(
    model: string,
    version: string,
    card: ModelCard,
    features: ArrayLike<number>,
    decision: Decision,
    explain: boolean,
  ): ReasonCode[] {
    if (!wantsReasons(decision, explain)) return [];
    const explainer = this.explainer(model, version, card);
    return explainer ? topReasons(card.features, explainer.explain(features).contributions) : [];
  }

  private explainer(model: string, version: string, card: ModelCard): Explainer | null {
    const key = `${model}/${version}`;
    let e = this.explainers.get(key);
    if (e === undefined) {
      try {
        e = explainerFor(card, () => readFileSync(this.repo.onnxPath(model, version))) ?? null;
        if (!e)
          this.log.warn(
            { model, version, algorithm: card.algorithm },
            "no explainer for this algorithm: decisions carry no reasons",
          );
      } catch (err) {
        this.log.error({ err, model, version }, "cannot build the explainer: decisions carry no reasons");
        e = null;
      }
      this.explainers.set(key, e);
    }
    return e;
  }
}
