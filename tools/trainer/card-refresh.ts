import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ModelRepository, type ModelCard } from "../../services/lib/model/index.js";
import { cardSections } from "./card-sections.js";
import { TrainingDataError } from "./errors.js";
import { prettyJson } from "./json-file.js";
import { rocAuc } from "./metrics.js";
import type { ModelFamily } from "./model-family.js";
import { scoreWithOnnx } from "./onnx-scorer.js";
import { roundDecimals } from "./rounding.js";
import { prepareFamilyData } from "./train.js";

/** One card refreshed: where, and whether its bytes changed. */
export interface RefreshedCard {
  path: string;
  version: string;
  changed: boolean;
}

/**
 * `npm run train -- card MODEL [VERSION...]`: rewrites the regulator's sections (intended use, limitations, data,
 * performance overall and per segment; see card-sections.ts) of versions already in the repository `root`, without
 * retraining: rebuilds the held-out rows exactly as training chose them (same data, split and spec), scores them
 * with the version's own model.onnx through onnxruntime-node, and merges the sections into its card.json. Every
 * other field and model.onnx stay as they are. Refuses a version whose spec hash or ROC AUC the rebuilt holdout
 * does not reproduce (it would describe other rows). Versions default to every version of the model in `root`.
 */
export async function refreshCards(
  family: ModelFamily,
  root: string,
  dataPath: string,
  versions?: readonly string[],
): Promise<RefreshedCard[]> {
  const data = prepareFamilyData(family, dataPath);
  const held = {
    spec: data.spec,
    totalRows: data.table.rows.length,
    holdoutRows: data.holdoutRows,
    yHoldout: data.yHoldout,
  };
  const done: RefreshedCard[] = [];
  for (const version of versions ?? new ModelRepository(root).versions(family.model)) {
    const dir = join(root, family.model, version);
    const path = join(dir, "card.json");
    const text = readFileSync(path, "utf8");
    const card = JSON.parse(text) as ModelCard;
    if (card.feature_spec_hash !== data.hash)
      throw new TrainingDataError(
        `${path}: feature_spec_hash ${card.feature_spec_hash}, but ${dataPath} gives spec ${data.hash}: not the rows it was trained with`,
      );
    const scores = await scoreWithOnnx(readFileSync(join(dir, card.onnx.file)), data.xHoldout, {
      inputName: card.onnx.inputs[0]?.name ?? "features",
      outputName: card.onnx.score_output,
    });
    const auc = roundDecimals(rocAuc(scores, data.yHoldout), 4);
    if (auc !== card.metrics["roc_auc"])
      throw new TrainingDataError(
        `${path}: the rebuilt held-out rows give ROC AUC ${auc}, the card says ${card.metrics["roc_auc"]}: not the same rows or model`,
      );
    const next = prettyJson({ ...card, ...cardSections(family, version, held, scores, card.thresholds) });
    if (next !== text) writeFileSync(path, next);
    done.push({ path, version, changed: next !== text });
  }
  return done;
}
