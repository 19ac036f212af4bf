import { callWorkers, type WorkerCall } from "../workers/worker-call.js";
import type { RouterDeps } from "./router-deps.js";

/** One Route call's rows for one model version, as a step of the cascade scores them (with the caller's signal). */
export type ScoreRequest = Omit<WorkerCall, "workerTimeoutMs" | "signal"> & { signal: AbortSignal };

/**
 * Scores one Route call's rows with one model version: through the batcher when batching across the hop is on
 * (rows of concurrent calls share one ModelInfer), otherwise with a ModelInfer of their own.
 */
export function workerScores(
  deps: Pick<RouterDeps, "batcher" | "workers" | "workerTimeoutMs" | "breakers" | "retry">,
  { model, version, card, matrix, rows, timeoutMs, signal }: ScoreRequest,
): Promise<Float32Array> {
  if (deps.batcher) return deps.batcher.score(model, version, card, matrix, rows, { timeoutMs, signal });
  return callWorkers(
    deps.workers,
    { model, version, card, matrix, rows, timeoutMs, workerTimeoutMs: deps.workerTimeoutMs, signal },
    deps.breakers,
    deps.retry,
  );
}
