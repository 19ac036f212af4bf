import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FeatureSpec } from "./feature-spec.js";
import type { ModelCard } from "./model-card.js";

/**
 * Reads the model repository, a folder laid out as
 *
 *   <root>/<model>/spec.json                  the family's feature spec
 *   <root>/<model>/<version>/card.json        one version's card
 *   <root>/<model>/<version>/model.onnx       its ONNX graph
 *
 * Versions are folders whose name is a positive integer and that hold both files. `published` names more folders
 * laid out as `<folder>/<model>/<version>/` (no spec): the local cache of versions published to the NATS object
 * store (meshctl publish; services/lib/nats/model-sync.ts fills it). Families and specs come from `root` only; a
 * version is read from the first folder that holds it, `root` first.
 */
export class ModelRepository {
  constructor(
    readonly root: string,
    private readonly published: readonly string[] = [],
  ) {
    if (!existsSync(root) || !statSync(root).isDirectory()) {
      throw new Error(`model repository ${root} is not a folder`);
    }
  }

  /** Model families: folders that hold a spec.json. */
  models(): string[] {
    return readdirSync(this.root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(this.root, d.name, "spec.json")))
      .map((d) => d.name)
      .sort();
  }

  spec(model: string): FeatureSpec {
    return JSON.parse(readFileSync(join(this.root, model, "spec.json"), "utf8")) as FeatureSpec;
  }

  /** Versions of a model, oldest first ("1", "2", ...), from every folder. */
  versions(model: string): string[] {
    const all = new Set([this.root, ...this.published].flatMap((root) => versionsIn(join(root, model))));
    return [...all].sort((a, b) => Number(a) - Number(b));
  }

  /** True when the version comes from the shipped repository (`root`), not from the published cache. */
  shipped(model: string, version: string): boolean {
    return versionsIn(join(this.root, model)).includes(version);
  }

  card(model: string, version: string): ModelCard {
    return JSON.parse(readFileSync(join(this.folder(model, version), "card.json"), "utf8")) as ModelCard;
  }

  onnxPath(model: string, version: string): string {
    return join(this.folder(model, version), this.card(model, version).onnx.file);
  }

  /** The version's folder: in `root` when it is there, else in the first published folder that holds it. */
  folder(model: string, version: string): string {
    for (const root of [this.root, ...this.published])
      if (versionsIn(join(root, model)).includes(version)) return join(root, model, version);
    return join(this.root, model, version);
  }
}

/** The version folders (positive integer names holding card.json and model.onnx) in a model's folder. */
function versionsIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter(
      (d) =>
        d.isDirectory() &&
        /^[1-9][0-9]*$/.test(d.name) &&
        existsSync(join(dir, d.name, "card.json")) &&
        existsSync(join(dir, d.name, "model.onnx")),
    )
    .map((d) => d.name);
}
