import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ModelInferRequestSchema, ModelInferResponse } from "../../../gen/inference/grpc_predict_v2_pb.js";
import { copyFloats, type ModelCard } from "../../lib/model/index.js";
import type { BreakerPermit } from "../breakers/circuit-breaker.js";
import type { WorkerChoice } from "./failover-order.js";

/** One ModelInfer's worth of rows for one model version. */
export interface WorkerCall {
  model: string;
  version: string;
  card: ModelCard;
  /** Row-major [rows, card.features.length]. */
  matrix: Float32Array;
  rows: number;
  /** Time for the whole call, retries included, ms. */
  timeoutMs: number;
  /**
   * The router's own limit on one worker call (ROUTER_WORKER_TIMEOUT_MS). An attempt given less than this was
   * cut short by the caller's deadline, and its DEADLINE_EXCEEDED is not held against the worker's breaker.
   * Absent: every DEADLINE_EXCEEDED counts as a failure.
   */
  workerTimeoutMs?: number;
  /** The caller's signal: once it aborts, no further attempt is made and a backoff ends at once. */
  signal?: AbortSignal;
}

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

/** The ModelInfer request of a call: its rows as raw FP32 in, the card's score output out. */
export function modelInferRequest(c: WorkerCall): MessageInitShape<typeof ModelInferRequestSchema> {
  return {
    modelName: c.model,
    modelVersion: c.version,
    inputs: [
      { name: c.card.onnx.inputs[0]!.name, datatype: "FP32", shape: [BigInt(c.rows), BigInt(c.card.features.length)] },
    ],
    outputs: [{ name: c.card.onnx.score_output }],
    rawInputContents: [new Uint8Array(c.matrix.buffer, c.matrix.byteOffset, c.matrix.byteLength)],
  };
}

/** The scores of a ModelInfer response: one FP32 per row, else INTERNAL. */
function scoresOf(res: ModelInferResponse, address: string, rows: number): Float32Array {
  const raw = res.rawOutputContents[0];
  if (!raw || raw.byteLength !== rows * 4) {
    throw new ConnectError(
      `worker ${address} returned ${raw?.byteLength ?? 0} bytes for ${rows} scores`,
      Code.Internal,
    );
  }
  return copyFloats(raw, rows);
}

/**
 * One attempt of a call on one worker, given `timeoutMs`: its scores, or the ConnectError it failed with. Its
 * outcome and duration are recorded in the worker's breaker.
 */
export async function attemptOn(
  { ep, permit }: WorkerChoice,
  c: WorkerCall,
  timeoutMs: number,
  clock: { now(): number },
): Promise<Float32Array> {
  const started = clock.now();
  try {
    const res = await ep.client.modelInfer(modelInferRequest(c), { timeoutMs, signal: c.signal });
    const scores = scoresOf(res, ep.address, c.rows);
    permit?.record(false, clock.now() - started);
    return scores;
  } catch (err) {
    const failure = ConnectError.from(err);
    recordFailure(permit, failure, c, timeoutMs, clock.now() - started);
    throw failure;
  }
}

/** Records a failed attempt in the worker's breaker: a caller that has gone says nothing about the worker. */
function recordFailure(
  permit: BreakerPermit | undefined,
  err: ConnectError,
  c: WorkerCall,
  timeoutMs: number,
  tookMs: number,
): void {
  if (c.signal?.aborted) permit?.release();
  else if (err.code === Code.DeadlineExceeded && c.workerTimeoutMs !== undefined && timeoutMs < c.workerTimeoutMs) {
    // Cut short by the caller's deadline, not by ours: it says the worker took at least `tookMs`, not that it
    // failed. Recorded as a call of that duration, so that the slow-call rate still sees a worker that hangs
    // (once callers' deadlines exceed the slow-call duration), without counting failures against a healthy
    // worker that was merely given too little time.
    permit?.record(false, tookMs);
  } else permit?.record(BREAKER_FAILURE_CODES.has(err.code), tookMs);
}
