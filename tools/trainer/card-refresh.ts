import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ModelRepository, type ModelCard } from "../../services/lib/model/index.js";
import { cardSections } from "./card-sections.js";
import { TrainingDataError } from "./errors.js";
import { prettyJson } from "./json-file.js";
import { rocAuc } from "./metrics.js";
import type { ModelFamily } from "./model-family.js";
import { scoreWithOnnx } from "./onnx-scorer.js";
import { roundDecimals } from "./rounding.js";
import { prepareFamilyData, type FamilyData } from "./train.js";

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
  const chosen = versions ?? new ModelRepository(root).versions(family.model);
  for (const version of chosen) {
    const path = join(root, family.model, version, "card.json");
    if (!existsSync(path)) throw new TrainingDataError(`no version ${version} of ${family.model}: ${path} is missing`);
  }
  const data = prepareFamilyData(family, dataPath);
  // Every card computed before any is written: a refused version leaves every file as it was.
  const cards: { path: string; version: string; text: string; next: string }[] = [];
  for (const version of chosen) cards.push(await refreshed(family, join(root, family.model, version), version, data));
  return cards.map(({ path, version, text, next }) => {
    if (next !== text) writeFileSync(path, next);
    return { path, version, changed: next !== text };
  });
}

/** One version's card.json as it is (`text`) and with the sections computed afresh (`next`). */
async function refreshed(family: ModelFamily, dir: string, version: string, data: FamilyData) {
  const path = join(dir, "card.json");
  const text = readFileSync(path, "utf8");
  const card = JSON.parse(text) as ModelCard;
  if (card.feature_spec_hash !== data.hash)
    throw new TrainingDataError(
      `${path}: feature_spec_hash ${card.feature_spec_hash}, but the data gives spec ${data.hash}: not the rows it was trained with`,
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
  const held = {
    spec: data.spec,
    totalRows: data.table.rows.length,
    holdoutRows: data.holdoutRows,
    yHoldout: data.yHoldout,
  };
  const next = prettyJson({ ...card, ...cardSections(family, version, held, scores, card.thresholds) });
  return { path, version, text, next };
}
