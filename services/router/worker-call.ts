import { Code, ConnectError } from "@connectrpc/connect";
import type { ModelCard } from "../lib/model-card.js";
import { copyFloats } from "../lib/tensor-bytes.js";
import type { BreakerBoard } from "./breakers.js";
import type { WorkerPool } from "./worker-pool.js";

/** Codes on which the router tries the next worker: the call did not reach a model that could answer. */
const FAILOVER_CODES = new Set([Code.Unavailable, Code.ResourceExhausted, Code.Aborted]);

/** Codes that count as a failure of the target in its circuit breaker (the others say nothing about its health). */
const BREAKER_FAILURE_CODES = new Set([
  Code.Unavailable,
  Code.ResourceExhausted,
  Code.Aborted,
  Code.DeadlineExceeded,
  Code.Internal,
  Code.Unknown,
  Code.DataLoss,
]);

/**
 * Every worker's breaker for the version refuses calls: the router goes on to the next step of its cascade.
 * (Its `name` stays "ConnectError": connect-es recognises its errors by name.)
 */
export class BreakersOpenError extends ConnectError {
  constructor(model: string, version: string) {
    super(`the circuit breaker of every model worker for ${model} version ${version} is open`, Code.Unavailable);
  }
}

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
 * With `breakers`, a worker whose breaker for the version is open is skipped, and every call's outcome and
 * duration is recorded in it; when every breaker refuses, it throws `BreakersOpenError` without calling anyone.
 */
export async function callWorkers(workers: WorkerPool, c: WorkerCall, breakers?: BreakerBoard): Promise<Float32Array> {
  const input = c.card.onnx.inputs[0]!;
  const deadline = performance.now() + c.timeoutMs;
  let last: ConnectError | undefined;
  let tried = 0;
  let skipped = 0;
  for (const ep of workers.candidates()) {
    const timeoutMs = Math.floor(deadline - performance.now());
    if (timeoutMs <= 0) break;
    const permit = breakers?.acquire(ep.address, c.model, c.version);
    if (breakers && !permit) {
      skipped++;
      continue;
    }
    tried++;
    const started = performance.now();
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
      permit?.record(false, performance.now() - started);
      return copyFloats(raw, c.rows);
    } catch (err) {
      last = ConnectError.from(err);
      if (c.signal?.aborted) permit?.release();
      else permit?.record(BREAKER_FAILURE_CODES.has(last.code), performance.now() - started);
      if (!FAILOVER_CODES.has(last.code) || c.signal?.aborted) break;
    }
  }
  if (tried === 0 && skipped > 0) throw new BreakersOpenError(c.model, c.version);
  throw last ?? new ConnectError("no model worker could answer in time", Code.DeadlineExceeded);
}
