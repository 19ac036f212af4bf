import { Code, ConnectError } from "@connectrpc/connect";
import { specSkewError } from "../lib/model/index.js";
import type { LoadedVersion } from "./loaded-version.js";

/**
 * The loaded versions and which one a request means: the version it names, or the model's champion from the
 * serving policy when it names none.
 */
export class VersionTable {
  private readonly versions = new Map<string, LoadedVersion>();
  /** The champion version of each model, from the serving policy (used when a request names no version). */
  readonly champions = new Map<string, string>();

  /** `refused`: the skew guard's refusals (key -> message), answered FAILED_PRECONDITION. */
  constructor(private readonly refused: ReadonlyMap<string, string>) {}

  get(model: string, version: string): LoadedVersion | undefined {
    return this.versions.get(versionKey(model, version));
  }

  add(lv: LoadedVersion): void {
    this.versions.set(versionKey(lv.model, lv.version), lv);
  }

  /** Removes the version (if it is this very object: a version loaded again since stays). */
  remove(lv: LoadedVersion): void {
    if (this.get(lv.model, lv.version) === lv) this.versions.delete(versionKey(lv.model, lv.version));
  }

  list(): LoadedVersion[] {
    return [...this.versions.values()];
  }

  clear(): void {
    this.versions.clear();
  }

  /** The version a request asks for ("" = the champion). FAILED_PRECONDITION when refused, NOT_FOUND when not served here. */
  resolve(model: string, version: string): LoadedVersion {
    const v = version || this.champions.get(model) || "";
    const lv = this.get(model, v);
    const refusal = this.refused.get(versionKey(model, v));
    if (refusal) throw specSkewError(refusal);
    if (lv) return lv;
    const known = this.list().filter((x) => x.model === model);
    if (known.length === 0) throw new ConnectError(`model ${JSON.stringify(model)} is not served here`, Code.NotFound);
    throw new ConnectError(
      `model ${model} version ${JSON.stringify(v)} is not loaded (loaded: ${known.map((x) => x.version).join(", ")})`,
      Code.NotFound,
    );
  }
}

export function versionKey(model: string, version: string): string {
  return `${model}/${version}`;
}
