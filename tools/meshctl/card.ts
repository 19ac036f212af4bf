import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CardPerformance, CardSegment } from "../../services/lib/model/index.js";
import { CliError, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

type Json = Record<string, unknown>;

const NOT_RECORDED = "not recorded in this card";
const WIDTH = 100;

/** A card value as text: strings and numbers as they are, anything else (missing) as `missing`. */
const str = (v: unknown, missing: string) => (typeof v === "string" || typeof v === "number" ? String(v) : missing);
const num = (v: unknown, d = 4) => (typeof v === "number" ? v.toFixed(d) : "?");
const pct = (v: unknown) => (typeof v === "number" ? `${(100 * v).toFixed(1)} %` : "?");

/**
 * `meshctl card MODEL VERSION [--json]`: the model card (models/<model>/<version>/card.json) in a form a
 * regulator can read: intended use, limitations, data provenance, performance on the held-out rows overall and
 * per segment (approval-rate ratios below the card's floor flagged), thresholds. --json prints the card file as it is.
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
  const features = (c["features"] ?? []) as string[];
  const t = (c["thresholds"] ?? {}) as Json;
  const limitations = Array.isArray(c["limitations"]) ? (c["limitations"] as string[]) : undefined;
  const data = (c["data"] ?? {}) as Json;
  const prot = Array.isArray(data["protected_attributes"]) ? (data["protected_attributes"] as string[]) : [];
  return [
    `Model card: ${String(c["model"])} version ${String(c["version"])}`,
    "",
    "Intended use",
    ...wrap(str(c["intended_use"], NOT_RECORDED), "  "),
    "",
    "Limitations",
    ...(limitations ? limitations.flatMap((l) => wrap(l, "  - ", "    ")) : [`  ${NOT_RECORDED}`]),
    "",
    "Model",
    ...wrap(str(c["description"], "-"), "  "),
    `  algorithm ${str(c["algorithm"], "?")}; ${features.length} features (feature spec ${str(c["feature_spec_hash"], "?")})`,
    `  protected attributes ${prot.length ? prot.join(", ") : "SEX, AGE and MARRIAGE"} are not model inputs (kept only as coarse segments for monitoring)`,
    "",
    ...provenance(c),
    "",
    ...overall(c),
    "",
    ...perSegment(c["performance"] as CardPerformance | undefined),
    "",
    "Decisions",
    `  approve below ${num(t["review"])}, review from ${num(t["review"])}, decline from ${num(t["decline"])}`,
  ];
}

function provenance(c: Json): string[] {
  const tr = (c["training"] ?? {}) as Json;
  const snap = (tr["entity_snapshot"] ?? {}) as Json;
  const data = c["data"] as Json | undefined;
  const said = (label: string, key: string) => (data?.[key] ? wrap(`${label} ${str(data[key], "?")}`, "  ") : []);
  return [
    "Training data (provenance)",
    ...said("source", "source"),
    ...said("licence", "licence"),
    ...said("population", "population"),
    ...said("label", "label"),
    `  data file ${str(tr["data_file"], "?")}  sha256 ${str(tr["data_sha256"], "?")}`,
    `  entity snapshot ${str(snap["file"], "-")}  sha256 ${str(snap["sha256"], "-")}  (${str(snap["entities"], "?")} entities)`,
    `  ${str(tr["train_rows"], "?")} training rows, ${str(tr["holdout_rows"], "?")} held-out rows, seed ${str(tr["seed"], "?")}`,
    ...said("held-out rows:", "holdout"),
  ];
}

function overall(c: Json): string[] {
  const m = (c["metrics"] ?? {}) as Json;
  const o = (c["performance"] as CardPerformance | undefined)?.overall;
  return [
    `Performance on the ${str(m["holdout_rows"], "?")} held-out rows`,
    `  ROC AUC ${num(m["roc_auc"])}  KS ${num(m["ks"])}  log loss ${num(m["log_loss"])}  Brier ${num(m["brier"])}`,
    `  observed default rate ${num(m["default_rate"])}  calibration error ${num(m["calibration_error"])}`,
    o
      ? `  at the thresholds: approve ${pct(o.approval_rate)}, review ${pct(o.review_rate)}, decline ${pct(o.decline_rate)}`
      : `  decision rates: ${NOT_RECORDED}`,
  ];
}

/** The per-segment table: one row per group, then each attribute's lowest ÷ highest approval rate. */
export function perSegment(p: CardPerformance | undefined): string[] {
  if (!p) return ["Performance per segment", `  ${NOT_RECORDED}`];
  const header = ["attribute", "group", "rows", "default rate", "AUC", "approve", "review", "decline", "ratio", ""];
  const rows = p.segments.flatMap((s) =>
    s.groups.map((g) => [
      s.attribute,
      g.group,
      String(g.rows),
      pct(g.default_rate),
      g.roc_auc === null ? "-" : num(g.roc_auc),
      pct(g.approval_rate),
      pct(g.review_rate),
      pct(g.decline_rate),
      g.approval_ratio === null ? "-" : num(g.approval_ratio, 3),
      g.approval_ratio === null ? "(too few rows)" : g.approval_ratio < p.ratio_floor ? `BELOW ${p.ratio_floor}` : "",
    ]),
  );
  return [
    `Performance per segment (the ${p.rows} held-out rows)`,
    ...wrap(
      `ratio: a group's approval rate ÷ the highest in its attribute; flagged below ${p.ratio_floor} (the ` +
        `four-fifths rule of thumb); groups under ${p.min_rows} rows are listed, not compared`,
      "  ",
    ),
    ...table([header, ...rows]),
    ...p.segments.map((s) => `  ${s.attribute}: ${ratioLine(s, p.ratio_floor)}`),
  ];
}

function ratioLine(s: CardSegment, floor: number): string {
  if (s.approval_ratio === null) return "fewer than two groups large enough to compare";
  const verdict = s.flagged ? `FLAGGED: below ${floor}` : `not below ${floor}`;
  return `lowest ÷ highest approval rate ${num(s.approval_ratio, 3)} (${s.lowest} ÷ ${s.highest}), ${verdict}${s.protected ? "" : " (a model input, not a protected attribute)"}`;
}

/** Columns padded to their widest cell; text columns left-aligned, numbers right-aligned. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const left = new Set([0, 1, rows[0]!.length - 1]);
  return rows.map(
    (r) =>
      "  " +
      r
        .map((cell, i) => (left.has(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join("  ")
        .trimEnd(),
  );
}

/** A paragraph wrapped at WIDTH columns: the first line after `first`, the others after `rest`. */
function wrap(text: string, first: string, rest = first): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(/\s+/)) {
    if (line.length + word.length > WIDTH && line.trim()) {
      lines.push(line.trimEnd());
      line = rest;
    }
    line += word + " ";
  }
  lines.push(line.trimEnd());
  return lines;
}
