import { join } from "node:path";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { buildVector, ModelRepository, seedChampion } from "../../services/lib/model/index.js";
import { creditRows } from "../support/credit-data.js";

/** The model every bench section runs, and its inputs: the mesh's seeded champion of `credit-default`. */
export const MODEL = "credit-default";
export const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
export const spec = repo.spec(MODEL);
/** The version the mesh serves when it starts (the seeded champion): every section runs that model. */
export const VERSION = seedChampion(repo.versions(MODEL).map((v) => repo.card(MODEL, v)))!;
/** The first 2,000 rows of the credit data: the public requests' inputs. */
export const inputRows = creditRows(2000);
/** The same rows as FP32 feature vectors: what the router sends the worker. */
export const vectors = inputRows.map((r) => buildVector(spec, r).vector);
export const cols = vectors[0]!.length;

/** The vectors as the bytes of a raw FP32 input (`raw_input_contents`). */
const rawVectors = vectors.map((v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength));

/** A direct single-row ModelInfer of row `i` (raw FP32, as the router sends it) to the seeded champion. */
export function singleRowInfer(i: number) {
  return {
    modelName: MODEL,
    modelVersion: VERSION,
    inputs: [{ name: "features", datatype: "FP32", shape: [1n, BigInt(cols)] }],
    rawInputContents: [rawVectors[i % rawVectors.length]!],
  };
}
