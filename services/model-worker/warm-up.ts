import * as ort from "onnxruntime-node";
import { warmUpSizes } from "./batching.js";
import type { LoadedVersion } from "./loaded-version.js";

/**
 * Runs every batch size traffic will use (1, the preferred sizes, the largest batch), so that the first real call
 * does not pay for allocation. Not counted in the statistics; the caller marks the version ready afterwards.
 * Resolves with the sizes run.
 */
export async function warmUp(lv: LoadedVersion): Promise<number[]> {
  const sizes = warmUpSizes(lv.batching);
  for (const rows of sizes) {
    await lv.session.run({
      [lv.inputName]: new ort.Tensor("float32", new Float32Array(rows * lv.cols), [rows, lv.cols]),
    });
  }
  return sizes;
}
