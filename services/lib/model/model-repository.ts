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
 * Versions are folders whose name is a positive integer and that hold both files.
 */
export class ModelRepository {
  constructor(readonly root: string) {
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

  /** Versions of a model, oldest first ("1", "2", ...). */
  versions(model: string): string[] {
    const dir = join(this.root, model);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter(
        (d) =>
          d.isDirectory() &&
          /^[1-9][0-9]*$/.test(d.name) &&
          existsSync(join(dir, d.name, "card.json")) &&
          existsSync(join(dir, d.name, "model.onnx")),
      )
      .map((d) => d.name)
      .sort((a, b) => Number(a) - Number(b));
  }

  card(model: string, version: string): ModelCard {
    return JSON.parse(readFileSync(join(this.root, model, version, "card.json"), "utf8")) as ModelCard;
  }

  onnxPath(model: string, version: string): string {
    return join(this.root, model, version, this.card(model, version).onnx.file);
  }
}
