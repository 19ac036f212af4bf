import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../service/index.js";

/**
 * How a batcher that calls downstream treats its callers' deadlines. Common to all: a request whose deadline
 * passes while it is queued is dropped (the `Batcher` does it), and a caller waits for its batch no longer than
 * its own deadline (`withinDeadline`). Where the batchers must differ, the policy names it:
 *
 * - `HOP_DEADLINES` (validator → feature, feature → router): only calls with about the same time left share a
 *   batch (`"quarter-octave"`: within about 19 %), and the batch goes with the earliest deadline of its
 *   callers, so that downstream budgets (the router's cascade gives the champion part of the time left and
 *   keeps some back for the rules) hold for every caller in it.
 * - `WORKER_DEADLINES` (router → model worker): any calls share a batch, which runs to the latest deadline of
 *   its callers (capped by the worker timeout); a caller whose own deadline comes first stops waiting then and
 *   takes the next step of its cascade. Nothing downstream of a worker splits the time.
 *
 * The model worker's own batcher only drops expired requests: an ONNX Runtime run cannot be cut short.
 */
export interface DeadlinePolicy {
  /** Which callers may share a batch: those with about the same time left, or any. */
  grouping: "quarter-octave" | "any";
  /** Which caller's deadline the batch's downstream call gets. */
  batchDeadline: "earliest" | "latest";
}

export const HOP_DEADLINES: DeadlinePolicy = { grouping: "quarter-octave", batchDeadline: "earliest" };
export const WORKER_DEADLINES: DeadlinePolicy = { grouping: "any", batchDeadline: "latest" };

/** The suffix of a batch key that keeps calls with different time left apart ("@43"), or "". */
export function deadlineGroup(policy: DeadlinePolicy, timeoutMs: number): string {
  if (policy.grouping === "any") return "";
  return `@${Math.floor(4 * Math.log2(Math.max(1, timeoutMs)))}`;
}

/** The timeout of a batch's downstream call at `now`: from its callers' deadlines, at least 1 ms, at most `maxMs`. */
export function batchTimeoutMs(
  policy: DeadlinePolicy,
  deadlines: readonly number[],
  now: number,
  maxMs = Infinity,
): number {
  const deadline = policy.batchDeadline === "earliest" ? Math.min(...deadlines) : Math.max(...deadlines);
  return Math.max(1, Math.min(maxMs, Math.floor(deadline - now)));
}

/**
 * `answer`, or DEADLINE_EXCEEDED once `timeoutMs` has passed on `clock`: a caller waits for a batch (which may run
 * to a later deadline, or hang) no longer than its own deadline.
 */
export function withinDeadline<T>(answer: Promise<T>, timeoutMs: number, clock: Clock, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.schedule(
      () =>
        reject(
          new ConnectError(`${what}: no answer within the caller's deadline (${timeoutMs} ms)`, Code.DeadlineExceeded),
        ),
      Math.max(0, timeoutMs),
    );
    answer.then(
      (v) => {
        cancel();
        resolve(v);
      },
      (err: unknown) => {
        cancel();
        reject(err);
      },
    );
  });
}
