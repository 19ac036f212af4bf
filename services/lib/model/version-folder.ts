import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { featureColumns, specHash, type FeatureSpec } from "./feature-spec.js";
import type { ModelCard } from "./model-card.js";
import { specSkew } from "./skew-guard.js";

/** The files of a version folder that are published: the card and the ONNX graph. */
export const VERSION_FILES = ["card.json", "model.onnx"] as const;

/** An optional file of the folder in `sha256sum` format; when present every file it lists must match. */
export const CHECKSUMS_FILE = "SHA256SUMS";

/** One published file: its name in the version folder, its SHA-256 (hex) and size. */
export interface VersionFile {
  name: string;
  sha256: string;
  size: number;
}

/** What a version folder holds once read and checked: its card and its files' bytes and digests. */
export interface VersionFolder {
  card: ModelCard;
  files: (VersionFile & { bytes: Uint8Array })[];
}

/** A version that cannot be published or loaded, with the reason (naming the file or card field). */
export class VersionFolderError extends Error {
  override readonly name = "VersionFolderError";
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Reads a version folder (card.json and model.onnx; SHA256SUMS checked when present) and checks the card
 * against `model` and its serving `spec`. Throws VersionFolderError naming what is missing or wrong.
 *
 * @example
 *   const v = readVersionFolder("/tmp/credit-default-5", "credit-default", repo.spec("credit-default"));
 */
export function readVersionFolder(dir: string, model: string, spec: FeatureSpec): VersionFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new VersionFolderError(`${dir} is not a folder`);
  const missing = VERSION_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) throw new VersionFolderError(`incomplete version folder ${dir}: no ${missing.join(", ")}`);
  const files = VERSION_FILES.map((name) => {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    return { name, bytes, sha256: sha256Hex(bytes), size: bytes.length };
  });
  checkChecksums(dir, files);
  let card: ModelCard;
  try {
    card = JSON.parse(Buffer.from(files[0]!.bytes).toString("utf8")) as ModelCard;
  } catch (err) {
    throw new VersionFolderError(`card.json is not JSON: ${(err as Error).message}`);
  }
  const problems = cardProblems(card, model, spec);
  if (problems.length) throw new VersionFolderError(`malformed card.json: ${problems.join("; ")}`);
  const skew = specSkew(card, specHash(spec));
  if (skew) throw new VersionFolderError(skew);
  return { card, files };
}

/** Every file SHA256SUMS lists must be in the folder with that digest (a corrupt copy is refused). */
function checkChecksums(dir: string, files: readonly VersionFile[]): void {
  const path = join(dir, CHECKSUMS_FILE);
  if (!existsSync(path)) return;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = /^([0-9a-fA-F]{64}) [ *]?(.+)$/.exec(line.trim());
    if (!m) continue;
    const file = files.find((f) => f.name === m[2]);
    if (file && file.sha256 !== m[1]!.toLowerCase())
      throw new VersionFolderError(
        `corrupt ${file.name}: its sha256 is ${file.sha256}, ${CHECKSUMS_FILE} says ${m[1]!.toLowerCase()}`,
      );
  }
}

/** What is wrong with a card for `model` served with `spec`, one entry per field; empty when nothing is. */
export function cardProblems(card: unknown, model: string, spec: FeatureSpec): string[] {
  if (typeof card !== "object" || card === null || Array.isArray(card)) return ["card.json must be a JSON object"];
  const c = card as Partial<ModelCard>;
  const p: string[] = [];
  if (c.model !== model) p.push(`model is ${JSON.stringify(c.model)}, expected ${JSON.stringify(model)}`);
  if (typeof c.version !== "string" || !/^[1-9][0-9]{0,8}$/.test(c.version))
    p.push(`version must be a positive integer as text, got ${JSON.stringify(c.version)}`);
  if (typeof c.algorithm !== "string" || !c.algorithm) p.push("algorithm is missing");
  const t = c.thresholds;
  if (!t || !(t.review >= 0 && t.review <= t.decline && t.decline <= 1))
    p.push(`thresholds must be 0 <= review <= decline <= 1, got ${JSON.stringify(t)}`);
  p.push(...onnxProblems(c.onnx, featureColumns(spec).length));
  if (typeof c.feature_spec_hash !== "string") p.push("feature_spec_hash is missing");
  return p;
}

function onnxProblems(onnx: ModelCard["onnx"] | undefined, cols: number): string[] {
  if (!onnx || typeof onnx !== "object") return ["onnx is missing"];
  const p: string[] = [];
  if (onnx.file !== "model.onnx") p.push(`onnx.file must be "model.onnx", got ${JSON.stringify(onnx.file)}`);
  const input = Array.isArray(onnx.inputs) && onnx.inputs.length === 1 ? onnx.inputs[0] : undefined;
  if (!input) p.push("onnx.inputs must describe exactly one input");
  else if (input.shape?.[1] !== cols) p.push(`onnx.inputs[0].shape must be [-1, ${cols}] (the spec's columns)`);
  if (!Array.isArray(onnx.outputs) || !onnx.outputs.some((o) => o.name === onnx.score_output))
    p.push(`onnx.score_output ${JSON.stringify(onnx.score_output)} is not among onnx.outputs`);
  return p;
}

/**
 * The local model cache of published versions: `dir` when given (kept; processes may share it), else a fresh
 * temporary folder of this process, removed by `close()`.
 */
export function openModelCache(dir: string | undefined, service: string): { dir: string; close(): void } {
  if (dir) {
    mkdirSync(dir, { recursive: true });
    return { dir, close: () => undefined };
  }
  const own = mkdtempSync(join(tmpdir(), `scoremesh-${service}-models-`));
  return { dir: own, close: () => rmSync(own, { recursive: true, force: true }) };
}

/**
 * How a version folder compares with the files already there under its number (`existing`: a published manifest's
 * files or the shipped repository's; undefined: none): "new", "same" (every file byte for byte), or the reason it
 * may not be published (the number is taken by other bytes).
 */
export function compareWithExisting(
  v: Pick<VersionFolder, "card" | "files">,
  existing: readonly VersionFile[] | undefined,
  where: string,
): "new" | "same" | { refused: string } {
  if (!existing) return "new";
  const differ = v.files.filter((f) => existing.find((e) => e.name === f.name)?.sha256 !== f.sha256);
  if (differ.length === 0) return "same";
  return {
    refused:
      `${v.card.model} version ${v.card.version} already exists in ${where} with other bytes ` +
      `(${differ.map((f) => f.name).join(", ")} differ${differ.length === 1 ? "s" : ""}): publish it under a new version number`,
  };
}

/** The digests of a version's files in a folder (the shipped repository's), for compareWithExisting. */
export function folderFiles(dir: string): VersionFile[] {
  return VERSION_FILES.filter((name) => existsSync(join(dir, name))).map((name) => {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    return { name, sha256: sha256Hex(bytes), size: bytes.length };
  });
}
