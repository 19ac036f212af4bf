import { Code, ConnectError } from "@connectrpc/connect";

/** The queue is full: the caller should retry after `retryAfterMs` (or elsewhere). */
export class QueueFullError extends Error {
  override name = "QueueFullError";
  constructor(
    readonly queuedRows: number,
    readonly retryAfterMs: number,
  ) {
    super(`batch queue full (${queuedRows} rows waiting); retry in about ${retryAfterMs} ms`);
  }
}

/** The request's deadline passed while it waited: it was dropped, not run. */
export class DeadlineExpiredError extends Error {
  override name = "DeadlineExpiredError";
  constructor(readonly waitedMs: number) {
    super(`deadline passed after ${waitedMs.toFixed(1)} ms in the batch queue; not run`);
  }
}

/** The caller cancelled the request (its AbortSignal fired) before it ran. */
export class RequestCancelledError extends Error {
  override name = "RequestCancelledError";
  constructor() {
    super("cancelled by the caller before it ran");
  }
}

/** An error detail for a full queue, from the queue's retry hint (e.g. a google.rpc.RetryInfo). */
export type RetryDetail = (retryAfterMs: number) => ConnectError["details"][number];

/**
 * The RPC error a caller of a batcher gets for the batcher's own refusals: a full queue is RESOURCE_EXHAUSTED
 * ("<queueFull>: <why>", with `retryDetail` when given), a deadline passed in the queue DEADLINE_EXCEEDED, a
 * cancelled request CANCELED; any other error (the batch's own call failed) as it is.
 *
 * @example
 *   catch (err) { throw batchErrorToRpc(err, `model ${model} version ${version} is overloaded`, retryInfo); }
 */
export function batchErrorToRpc(err: unknown, queueFull: string, retryDetail?: RetryDetail): unknown {
  if (err instanceof QueueFullError) {
    const full = new ConnectError(`${queueFull}: ${err.message}`, Code.ResourceExhausted);
    if (retryDetail) full.details.push(retryDetail(err.retryAfterMs));
    return full;
  }
  if (err instanceof DeadlineExpiredError) return new ConnectError(err.message, Code.DeadlineExceeded);
  if (err instanceof RequestCancelledError) return new ConnectError(err.message, Code.Canceled);
  return err;
}
