/**
 * Dynamic batching, pure logic: requests of a few rows each join a queue, and the batcher hands batches of
 * whole requests to a `run` function. No I/O and no real time here: the clock is injected, so a unit test
 * drives it with a fake one. The model worker batches ONNX Runtime calls with it (one batch at a time per
 * model version); the router batches rows into `ModelInfer` calls (a few batches in flight).
 */

import { systemClock, type Clock } from "../service/index.js";
import { DeadlineExpiredError, QueueFullError, RequestCancelledError } from "./batch-errors.js";

export interface BatcherOptions {
  /** Most rows in one batch (a single larger request runs alone). Default 64. */
  maxBatchRows?: number;
  /**
   * How long the oldest queued request may wait for more to join it, in ms. Default 0: a batch is whatever
   * arrived while the previous batch ran (or in the same I/O tick), so an idle batcher adds no delay.
   */
  maxQueueDelayMs?: number;
  /** Batch sizes the model runs best at: a batch of one of these sizes goes at once, before the delay is up. */
  preferredBatchRows?: number[];
  /** Most rows waiting; beyond, `submit` rejects with `QueueFullError` (load shedding). Default 4096. */
  maxQueueRows?: number;
  /** Batches running at once. Default 1. */
  maxInFlight?: number;
  clock?: Clock;
  /** Told the rows of each batch that ran (metrics: a batch size histogram). */
  onBatch?: (rows: number) => void;
}

/** One request as the `run` function sees it. */
export interface QueuedRequest<I> {
  input: I;
  rows: number;
  /** When it joined the queue (clock ms). */
  enqueuedAt: number;
}

export interface SubmitOptions {
  /** Clock time after which the request is dropped instead of run. */
  deadline?: number;
  signal?: AbortSignal;
}

export interface BatcherStats {
  queuedRows: number;
  queuedRequests: number;
  inFlight: number;
  batches: number;
  rowsRun: number;
  requestsRun: number;
  /** Requests refused because the queue was full. */
  shed: number;
  /** Requests dropped because their deadline passed in the queue. */
  expired: number;
  cancelled: number;
}

interface Entry<I, O> extends QueuedRequest<I> {
  deadline: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
  settled: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A dynamic batcher in the manner of Triton's: a batch goes when it is full (`maxBatchRows`), when the queue
 * holds exactly a preferred size, or when the oldest request has waited `maxQueueDelayMs`; a bounded queue
 * sheds load; requests whose deadline has passed are dropped before they run.
 *
 * `run` gets the requests of one batch in arrival order and returns one output per request, in that order.
 *
 * @example
 *   const b = new Batcher<Float32Array, Float32Array>(async (reqs) => runModel(reqs), { maxBatchRows: 64 });
 *   const scores = await b.submit(rowsOfOneRequest, 1, { deadline: performance.now() + 100 });
 */
export class Batcher<I, O> {
  readonly maxBatchRows: number;
  readonly maxQueueDelayMs: number;
  readonly preferredBatchRows: ReadonlySet<number>;
  readonly maxQueueRows: number;
  readonly maxInFlight: number;
  private readonly clock: Clock;
  private queue: Entry<I, O>[] = [];
  private queuedRows = 0;
  private inFlight = 0;
  private cancelTimer: (() => void) | undefined;
  private timerAt = Infinity;
  /** Moving average of the run time per row (ms), for the retry hint. */
  private msPerRow = 0.01;
  private readonly counters = { batches: 0, rowsRun: 0, requestsRun: 0, shed: 0, expired: 0, cancelled: 0 };
  private readonly onBatch?: (rows: number) => void;

  constructor(
    private readonly run: (batch: QueuedRequest<I>[]) => Promise<O[]>,
    {
      maxBatchRows = 64,
      maxQueueDelayMs = 0,
      preferredBatchRows = [],
      maxQueueRows = 4096,
      maxInFlight = 1,
      clock = systemClock,
      onBatch,
    }: BatcherOptions = {},
  ) {
    if (!(maxBatchRows >= 1)) throw new RangeError("maxBatchRows must be at least 1");
    if (!(maxQueueDelayMs >= 0)) throw new RangeError("maxQueueDelayMs must be at least 0");
    if (!(maxInFlight >= 1)) throw new RangeError("maxInFlight must be at least 1");
    this.maxBatchRows = maxBatchRows;
    this.maxQueueDelayMs = maxQueueDelayMs;
    this.preferredBatchRows = new Set(preferredBatchRows.filter((n) => n >= 1 && n <= maxBatchRows));
    this.maxQueueRows = Math.max(maxQueueRows, maxBatchRows);
    this.maxInFlight = maxInFlight;
    this.onBatch = onBatch;
    this.clock = clock;
  }

  /** Queues one request of `rows` rows; resolves with its output once its batch has run. */
  submit(input: I, rows: number, { deadline = Infinity, signal }: SubmitOptions = {}): Promise<O> {
    if (signal?.aborted) return Promise.reject(new RequestCancelledError());
    if (this.queuedRows + rows > this.maxQueueRows && this.queue.length > 0) {
      this.counters.shed++;
      return Promise.reject(new QueueFullError(this.queuedRows, this.retryAfterMs()));
    }
    return new Promise<O>((resolve, reject) => {
      const e: Entry<I, O> = {
        input,
        rows,
        enqueuedAt: this.clock.now(),
        deadline,
        resolve,
        reject,
        settled: false,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        e.onAbort = () => {
          const i = this.queue.indexOf(e);
          if (i >= 0) {
            this.queue.splice(i, 1);
            this.queuedRows -= e.rows;
          }
          this.counters.cancelled++;
          this.settle(e, undefined, new RequestCancelledError());
        };
        signal.addEventListener("abort", e.onAbort, { once: true });
      }
      this.queue.push(e);
      this.queuedRows += rows;
      this.plan();
    });
  }

  stats(): BatcherStats {
    return {
      queuedRows: this.queuedRows,
      queuedRequests: this.queue.length,
      inFlight: this.inFlight,
      ...this.counters,
    };
  }

  /** An estimate of how long the queue takes to drain (ms, at least 1): the retry hint of a shed request. */
  retryAfterMs(): number {
    return Math.max(1, Math.ceil(this.queuedRows * this.msPerRow));
  }

  /** Decides when the next batch goes, and sets one timer for it. */
  private plan(): void {
    if (this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    const now = this.clock.now();
    const due = this.ready(now) ? now : this.queue[0]!.enqueuedAt + this.maxQueueDelayMs;
    // Even a batch that is due now goes from a timer (0 ms): requests that arrived in the same tick join it.
    if (due >= this.timerAt) return;
    this.cancelTimer?.();
    this.timerAt = due;
    this.cancelTimer = this.clock.schedule(
      () => {
        this.cancelTimer = undefined;
        this.timerAt = Infinity;
        this.dispatch();
      },
      Math.max(0, due - now),
    );
  }

  /** True when a batch may go now: full, a preferred size, or the oldest request has waited long enough. */
  private ready(now: number): boolean {
    if (now - this.queue[0]!.enqueuedAt >= this.maxQueueDelayMs) return true;
    return this.take(false).length > 0;
  }

  /**
   * The requests of the next batch, from the head of the queue. `force`: the delay is up, take what fits;
   * otherwise only a full batch or a preferred size (empty when neither can be formed yet).
   */
  private take(force: boolean): Entry<I, O>[] {
    let rows = 0;
    let n = 0;
    let preferred = 0;
    for (const e of this.queue) {
      if (n > 0 && rows + e.rows > this.maxBatchRows) return this.queue.slice(0, n); // full: the next one does not fit
      rows += e.rows;
      n++;
      if (this.preferredBatchRows.has(rows)) preferred = n;
      if (rows >= this.maxBatchRows) return this.queue.slice(0, n);
    }
    if (force) return this.queue.slice(0, n);
    return this.queue.slice(0, preferred);
  }

  private dispatch(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const now = this.clock.now();
      this.dropExpired(now);
      if (this.queue.length === 0) return;
      if (!this.ready(now)) break;
      const force = now - this.queue[0]!.enqueuedAt >= this.maxQueueDelayMs;
      const batch = this.take(force);
      this.queue.splice(0, batch.length);
      for (const e of batch) this.queuedRows -= e.rows;
      void this.runBatch(batch);
    }
    this.plan();
  }

  private dropExpired(now: number): void {
    if (!this.queue.some((e) => e.deadline <= now)) return;
    this.queue = this.queue.filter((e) => {
      if (e.deadline > now) return true;
      this.queuedRows -= e.rows;
      this.counters.expired++;
      this.settle(e, undefined, new DeadlineExpiredError(now - e.enqueuedAt));
      return false;
    });
  }

  private async runBatch(batch: Entry<I, O>[]): Promise<void> {
    this.inFlight++;
    const rows = batch.reduce((s, e) => s + e.rows, 0);
    const started = this.clock.now();
    try {
      const outputs = await this.run(batch);
      if (outputs.length !== batch.length)
        throw new Error(`batch run returned ${outputs.length} outputs for ${batch.length} requests`);
      batch.forEach((e, i) => this.settle(e, outputs[i]));
      this.counters.batches++;
      this.counters.rowsRun += rows;
      this.counters.requestsRun += batch.length;
      this.onBatch?.(rows);
      const perRow = (this.clock.now() - started) / rows;
      this.msPerRow = 0.8 * this.msPerRow + 0.2 * perRow;
    } catch (err) {
      for (const e of batch) this.settle(e, undefined, err);
    } finally {
      this.inFlight--;
      this.plan();
    }
  }

  private settle(e: Entry<I, O>, value: O | undefined, err?: unknown): void {
    if (e.settled) return;
    e.settled = true;
    if (e.onAbort) e.signal?.removeEventListener("abort", e.onAbort);
    if (err !== undefined) e.reject(err);
    else e.resolve(value as O);
  }

  /** Rejects everything still queued (at shutdown). */
  close(reason: Error = new Error("batcher closed")): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerAt = Infinity;
    for (const e of this.queue) this.settle(e, undefined, reason);
    this.queue = [];
    this.queuedRows = 0;
  }
}

/**
 * A signal that fires once every one of `signals` has fired (never, when one is undefined): the signal of a batch,
 * whose work is wanted until the last of its callers has gone.
 */
export function allAborted(signals: (AbortSignal | undefined)[]): AbortSignal {
  const ac = new AbortController();
  if (signals.some((s) => s === undefined)) return ac.signal;
  let left = signals.length;
  for (const s of signals as AbortSignal[]) {
    if (s.aborted) left--;
    else s.addEventListener("abort", () => --left === 0 && ac.abort(), { once: true });
  }
  if (left === 0) ac.abort();
  return ac.signal;
}
