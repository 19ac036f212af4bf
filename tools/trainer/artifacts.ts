import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { prettyJson } from "./json-file.js";
import type { TrainedFamily } from "./train.js";

/** One file of the model repository: its path relative to the repository root, and its bytes. */
export interface ArtifactFile {
  path: string;
  content: Uint8Array;
}

/**
 * The files a trained family occupies in the model repository (see services/lib/model/model-repository.ts):
 * <model>/spec.json, <model>/golden.json (golden vectors), <model>/entities/snapshot-*.jsonl (the entity snapshot,
 * for families with entity features), and <model>/<version>/card.json and model.onnx for each version.
 */
export function artifactFiles(trained: TrainedFamily): ArtifactFile[] {
  const model = trained.spec.model;
  const text = (s: string) => new TextEncoder().encode(s);
  return [
    { path: `${model}/spec.json`, content: text(prettyJson(trained.spec)) },
    { path: `${model}/golden.json`, content: text(prettyJson(trained.golden)) },
    ...(trained.entitySnapshot
      ? [{ path: `${model}/entities/${trained.entitySnapshot.fileName}`, content: text(trained.entitySnapshot.text) }]
      : []),
    ...trained.versions.flatMap(({ card, onnx }) => [
      { path: `${model}/${card.version}/card.json`, content: text(prettyJson(card)) },
      { path: `${model}/${card.version}/${card.onnx.file}`, content: onnx },
    ]),
  ];
}

/** Writes a trained family into a model repository folder; returns the paths written. */
export function writeArtifacts(root: string, trained: TrainedFamily): string[] {
  return artifactFiles(trained).map(({ path, content }) => {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    return target;
  });
}
