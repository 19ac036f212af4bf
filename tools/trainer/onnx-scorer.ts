import { InferenceSession, Tensor } from "onnxruntime-node";
import type { Matrix } from "./matrix.js";

/**
 * Runs an ONNX model with one FLOAT [N, d] input and one [N, 1] output over a matrix with onnxruntime-node
 * (CPU) and returns the N scores: metrics computed from these prove the exported file, not the trainer's math.
 */
export async function scoreWithOnnx(
  model: Uint8Array,
  x: Matrix,
  { inputName = "features", outputName = "probability" } = {},
): Promise<Float32Array> {
  const session = await InferenceSession.create(model, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const input = new Tensor("float32", Float32Array.from(x.data), [x.rows, x.cols]);
    const result = await session.run({ [inputName]: input });
    const output = result[outputName];
    if (!output || output.type !== "float32" || output.size !== x.rows) {
      throw new Error(`model output ${outputName} is not ${x.rows} float32 scores`);
    }
    return output.data as Float32Array;
  } finally {
    await session.release();
  }
}
