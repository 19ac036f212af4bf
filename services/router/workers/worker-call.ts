import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { type ModelCard, copyFloats } from "../../lib/model/index.js";
import type { BreakerBoard } from "../breakers/breakers.js";
import { RetryBudgets, realRetryClock, type RetryClock } from "./retry-budget.js";
import type { WorkerPool } from "./worker-pool.js";

/** Codes on which the router retries, on the next worker: the call did not reach a model that could answer. */
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

/** How `callWorkers` retries. Every field has a default. */
export interface RetryOptions {
  /** One budget per model/version. Default: one set shared by the calls that pass none (default options). */
  budgets?: RetryBudgets;
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Backoff before retry n: random() × min(backoffMaxMs, backoffBaseMs × 2^(n-1)) ("full jitter"). Default 5. */
  backoffBaseMs?: number;
  /** Default 50. */
  backoffMaxMs?: number;
  /** A retry is made only if at least this much of the deadline is left after its backoff, ms. Default 10. */
  minAttemptMs?: number;
  random?: () => number;
  clock?: RetryClock;
  /** Waits `ms` or until `signal` aborts; resolves false when aborted. Default: a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<boolean>;
  /** Refusals of the retry budget are logged here, at most once a second per target. */
  log?: Logger;
}

/** The budgets of calls that pass no `RetryOptions.budgets`. */
const sharedBudgets = new RetryBudgets();

/** The backoff before retry `retry` (1 for the first retry): full jitter, in [0, min(maxMs, baseMs × 2^(retry-1))). */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return random() * Math.min(maxMs, baseMs * 2 ** (retry - 1));
}

/** Waits `ms`, or less when `signal` aborts; resolves true when the whole wait passed, false when aborted. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Scores `rows` rows with one `ModelInfer` (raw FP32 in and out) on the workers of the pool, in its order.
 *
 * Retries: only on UNAVAILABLE, RESOURCE_EXHAUSTED and ABORTED (the call did not reach a model that could answer),
 * on the next worker (the same one when it is the only one whose breaker lets calls through), after a backoff
 * with full jitter, and only while the model version's retry budget allows it, at most `maxAttempts` attempts in
 * all, never past the call's deadline, and never once the caller has gone.
 *
 * The retries are the router's and not grpc-js's (gRFC A6 `retryPolicy`/`retryThrottling`): a grpc-js channel
 * here is one worker address, so its retries resend to the same worker and cannot move to another replica, and
 * its throttling is per channel rather than per model version across replicas.
 *
 * With `breakers`, a worker whose breaker for the version is open is skipped (not an attempt: it costs no budget),
 * and every attempt's outcome and duration is recorded in it; when every breaker refuses the first attempt, it
 * throws `BreakersOpenError` without calling anyone.
 *
 * @example
 *   const budgets = new RetryBudgets({ ratio: 0.2, minRetriesPerSecond: 10 });
 *   const scores = await callWorkers(pool, { model, version, card, matrix, rows, timeoutMs: 400, workerTimeoutMs: 1000, signal },
 *     breakers, { budgets, maxAttempts: 3, backoffBaseMs: 5, backoffMaxMs: 50, log });
 */
export async function callWorkers(
  workers: Pick<WorkerPool, "candidates">,
  c: WorkerCall,
  breakers?: BreakerBoard,
  retry: RetryOptions = {},
): Promise<Float32Array> {
  const {
    budgets = sharedBudgets,
    maxAttempts = 3,
    backoffBaseMs = 5,
    backoffMaxMs = 50,
    minAttemptMs = 10,
    random = Math.random,
    clock = realRetryClock,
    sleep = abortableSleep,
    log,
  } = retry;
  const input = c.card.onnx.inputs[0]!;
  const order = workers.candidates();
  const target = `${c.model}/${c.version}`;
  const deadline = clock.now() + c.timeoutMs;
  let last: ConnectError | undefined;
  let attempts = 0;
  let skipped = 0;
  let pos = 0;

  /** The next endpoint from `pos` on (cyclically) whose breaker gives a permit; open breakers are skipped. */
  const pick = () => {
    for (let k = 0; k < order.length; k++) {
      const i = (pos + k) % order.length;
      const ep = order[i]!;
      const permit = breakers?.acquire(ep.address, c.model, c.version);
      if (breakers && !permit) {
        skipped++;
        continue;
      }
      pos = i + 1;
      return { ep, permit };
    }
    return undefined;
  };

  if (c.timeoutMs > 0) {
    let next = pick();
    if (next) budgets.for(target).deposit();
    while (next) {
      const { ep, permit } = next;
      const timeoutMs = attempts === 0 ? c.timeoutMs : Math.floor(deadline - clock.now());
      if (timeoutMs <= 0) {
        permit?.release();
        break;
      }
      attempts++;
      const started = clock.now();
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
        permit?.record(false, clock.now() - started);
        return copyFloats(raw, c.rows);
      } catch (err) {
        last = ConnectError.from(err);
        const tookMs = clock.now() - started;
        if (c.signal?.aborted) permit?.release();
        else if (last.code === Code.DeadlineExceeded && c.workerTimeoutMs !== undefined && timeoutMs < c.workerTimeoutMs) {
          // Cut short by the caller's deadline, not by ours: it says the worker took at least `tookMs`, not that it
          // failed. Recorded as a call of that duration, so that the slow-call rate still sees a worker that hangs
          // (once callers' deadlines exceed the slow-call duration), without counting failures against a healthy
          // worker that was merely given too little time.
          permit?.record(false, tookMs);
        } else permit?.record(BREAKER_FAILURE_CODES.has(last.code), tookMs);
      }
      if (c.signal?.aborted) throw ConnectError.from(c.signal.reason, Code.Canceled);
      if (!FAILOVER_CODES.has(last.code) || attempts >= maxAttempts) break;
      const delay = backoffDelay(attempts, backoffBaseMs, backoffMaxMs, random);
      if (deadline - clock.now() - delay < minAttemptMs) break;
      const budget = budgets.for(target);
      if (!budget.tryWithdraw()) {
        const refusedNow = budget.refusalReport(1000);
        if (refusedNow !== undefined) log?.warn({ target, refusedSinceLastLine: refusedNow, ...budget.stats() }, "retry budget exhausted: failed worker calls are not retried");
        break;
      }
      if (!(await sleep(delay, c.signal))) throw ConnectError.from(c.signal?.reason, Code.Canceled);
      next = pick();
    }
  }
  if (attempts === 0 && skipped > 0) throw new BreakersOpenError(c.model, c.version);
  throw last ?? new ConnectError("no model worker could answer in time", Code.DeadlineExceeded);
}
