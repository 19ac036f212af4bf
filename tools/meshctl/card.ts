import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CliError, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

type Json = Record<string, unknown>;

const NOT_RECORDED = "not recorded in this card";

/** A card value as text: strings and numbers as they are, anything else (missing) as `missing`. */
const str = (v: unknown, missing: string) => (typeof v === "string" || typeof v === "number" ? String(v) : missing);

/**
 * `meshctl card MODEL VERSION [--json]`: the model card (models/<model>/<version>/card.json) in a form a
 * regulator can read: purpose, data provenance, performance on the held-out rows, thresholds, what is not there.
 * --json prints the card file as it is.
 */
export function card(target: MeshTarget, model: string, version: string, out: Output): void {
  const file = join(target.repository(), model, version, "card.json");
  if (!/^[A-Za-z0-9._-]+$/.test(model) || !/^[A-Za-z0-9._-]+$/.test(version) || !existsSync(file))
    throw new CliError(`no model card of ${model} version ${version} (${file})`);
  let c: Json;
  try {
    c = JSON.parse(readFileSync(file, "utf8")) as Json;
  } catch (err) {
    throw new CliError(`${file}: not JSON (${(err as Error).message})`);
  }
  if (out.json) return printJson(c);
  console.log(cardText(c).join("\n"));
}

/** The card's sections as lines for people. */
export function cardText(c: Json): string[] {
  const m = (c["metrics"] ?? {}) as Json;
  const t = (c["thresholds"] ?? {}) as Json;
  const tr = (c["training"] ?? {}) as Json;
  const snap = (tr["entity_snapshot"] ?? {}) as Json;
  const features = (c["features"] ?? []) as string[];
  const num = (v: unknown, d = 4) => (typeof v === "number" ? v.toFixed(d) : "?");
  return [
    `Model card: ${String(c["model"])} version ${String(c["version"])}`,
    "",
    "Intended use",
    `  ${str(c["intended_use"], NOT_RECORDED)}`,
    "",
    "Model",
    `  ${str(c["description"], "-")}`,
    `  algorithm ${str(c["algorithm"], "?")}; ${features.length} features (feature spec ${str(c["feature_spec_hash"], "?")})`,
    "  protected attributes SEX, AGE and MARRIAGE are not model inputs (kept only as coarse segments for monitoring)",
    "",
    "Training data (provenance)",
    `  data file ${str(tr["data_file"], "?")}  sha256 ${str(tr["data_sha256"], "?")}`,
    `  entity snapshot ${str(snap["file"], "-")}  sha256 ${str(snap["sha256"], "-")}  (${str(snap["entities"], "?")} entities)`,
    `  ${str(tr["train_rows"], "?")} training rows, ${str(tr["holdout_rows"], "?")} held-out rows, seed ${str(tr["seed"], "?")}`,
    "",
    `Performance on the ${str(m["holdout_rows"], "?")} held-out rows`,
    `  ROC AUC ${num(m["roc_auc"])}  KS ${num(m["ks"])}  log loss ${num(m["log_loss"])}  Brier ${num(m["brier"])}`,
    `  observed default rate ${num(m["default_rate"])}  calibration error ${num(m["calibration_error"])}`,
    `  per segment (AUC, approval rate, ratio of approval rates): ${c["segments"] ? JSON.stringify(c["segments"]) : NOT_RECORDED}`,
    "",
    "Decisions",
    `  approve below ${num(t["review"])}, review from ${num(t["review"])}, decline from ${num(t["decline"])}`,
    "",
    "Limitations",
    `  ${str(c["limitations"], NOT_RECORDED)}`,
  ];
}
