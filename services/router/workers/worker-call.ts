import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { BreakerBoard } from "../breakers/breakers.js";
import { FailoverOrder } from "./failover-order.js";
import { systemClock, type Clock } from "../../lib/service/index.js";
import { RetryBudgets } from "./retry-budget.js";
import { attemptOn, type WorkerCall } from "./worker-attempt.js";
import type { WorkerPool } from "./worker-pool.js";

/** Codes on which the router retries, on the next worker: the call did not reach a model that could answer. */
const FAILOVER_CODES = new Set([Code.Unavailable, Code.ResourceExhausted, Code.Aborted]);

/**
 * Every worker's breaker for the version refuses calls: the router goes on to the next step of its cascade.
 * (Its `name` stays "ConnectError": connect-es recognises its errors by name.)
 */
export class BreakersOpenError extends ConnectError {
  constructor(model: string, version: string) {
    super(`the circuit breaker of every model worker for ${model} version ${version} is open`, Code.Unavailable);
  }
}

export type { WorkerCall } from "./worker-attempt.js";

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
  clock?: Clock;
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
  const o = withDefaults(retry);
  const order = new FailoverOrder(workers.candidates(c.model, c.version), breakers, c.model, c.version);
  const target = `${c.model}/${c.version}`;
  const deadline = o.clock.now() + c.timeoutMs;
  let last: ConnectError | undefined;
  let attempts = 0;
  let next = c.timeoutMs > 0 ? order.next() : undefined;
  if (next) o.budgets.for(target).deposit();
  while (next) {
    // The first attempt has the whole call's time; a retry what is left of it.
    const timeoutMs = attempts === 0 ? c.timeoutMs : Math.floor(deadline - o.clock.now());
    if (timeoutMs <= 0) {
      next.permit?.release();
      break;
    }
    attempts++;
    try {
      return await attemptOn(next, c, timeoutMs, o.clock);
    } catch (err) {
      last = ConnectError.from(err);
    }
    if (c.signal?.aborted) throw ConnectError.from(c.signal.reason, Code.Canceled);
    const delay = retryDelay(last, attempts, deadline - o.clock.now(), target, o);
    if (delay === undefined) break;
    if (!(await o.sleep(delay, c.signal))) throw ConnectError.from(c.signal?.reason, Code.Canceled);
    next = order.next();
  }
  if (attempts === 0 && order.skipped > 0) throw new BreakersOpenError(c.model, c.version);
  throw last ?? new ConnectError("no model worker could answer in time", Code.DeadlineExceeded);
}

type ResolvedRetry = Required<Omit<RetryOptions, "log">> & Pick<RetryOptions, "log">;

function withDefaults({
  budgets = sharedBudgets,
  maxAttempts = 3,
  backoffBaseMs = 5,
  backoffMaxMs = 50,
  minAttemptMs = 10,
  random = Math.random,
  clock = systemClock,
  sleep = abortableSleep,
  log,
}: RetryOptions): ResolvedRetry {
  return { budgets, maxAttempts, backoffBaseMs, backoffMaxMs, minAttemptMs, random, clock, sleep, log };
}

/**
 * The backoff before retrying a failed attempt, or undefined when it is not retried: a code that says the call
 * may have reached a model, the last attempt made, too little of the deadline (`leftMs`) left after the
 * backoff, or the model version's retry budget spent (refusals logged at most once a second per target).
 */
function retryDelay(
  err: ConnectError,
  attempts: number,
  leftMs: number,
  target: string,
  o: ResolvedRetry,
): number | undefined {
  if (!FAILOVER_CODES.has(err.code) || attempts >= o.maxAttempts) return undefined;
  const delay = backoffDelay(attempts, o.backoffBaseMs, o.backoffMaxMs, o.random);
  if (leftMs - delay < o.minAttemptMs) return undefined;
  const budget = o.budgets.for(target);
  if (budget.tryWithdraw()) return delay;
  const refusedNow = budget.refusalReport(1000);
  if (refusedNow !== undefined)
    o.log?.warn(
      { target, refusedSinceLastLine: refusedNow, ...budget.stats() },
      "retry budget exhausted: failed worker calls are not retried",
    );
  return undefined;
}
