import { Code, ConnectError } from "@connectrpc/connect";
import type { ModelCard } from "../lib/model-card.js";
import { copyFloats } from "../lib/tensor-bytes.js";
import type { WorkerPool } from "./worker-pool.js";

/** Codes on which the router tries the next worker: the call did not reach a model that could answer. */
const FAILOVER_CODES = new Set([Code.Unavailable, Code.ResourceExhausted, Code.Aborted]);

/** One ModelInfer's worth of rows for one model version. */
export interface WorkerCall {
  model: string;
  version: string;
  card: ModelCard;
  /** Row-major [rows, card.features.length]. */
  matrix: Float32Array;
  rows: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Scores `rows` rows with one `ModelInfer` (raw FP32 in and out), trying the workers in the pool's order and
 * moving on to the next one only when a worker could not take the call (UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED).
 */
export async function callWorkers(workers: WorkerPool, c: WorkerCall): Promise<Float32Array> {
  const input = c.card.onnx.inputs[0]!;
  const deadline = performance.now() + c.timeoutMs;
  let last: ConnectError | undefined;
  for (const ep of workers.candidates()) {
    const timeoutMs = Math.floor(deadline - performance.now());
    if (timeoutMs <= 0) break;
    try {
      const res = await ep.client.modelInfer(
        {
          modelName: c.model,
          modelVersion: c.version,
          inputs: [{ name: input.name, datatype: "FP32", shape: [BigInt(c.rows), BigInt(c.card.features.length)] }],
          outputs: [{ name: c.card.onnx.score_output }],
          rawInputContents: [new Uint8Array(c.matrix.buffer, c.matrix.byteOffset, c.matrix.byteLength)],
        },
        { timeoutMs, signal: c.signal },
      );
      const raw = res.rawOutputContents[0];
      if (!raw || raw.byteLength !== c.rows * 4) {
        throw new ConnectError(`worker ${ep.address} returned ${raw?.byteLength ?? 0} bytes for ${c.rows} scores`, Code.Internal);
      }
      return copyFloats(raw, c.rows);
    } catch (err) {
      last = ConnectError.from(err);
      if (!FAILOVER_CODES.has(last.code) || c.signal?.aborted) break;
    }
  }
  throw last ?? new ConnectError("no model worker could answer in time", Code.DeadlineExceeded);
}
