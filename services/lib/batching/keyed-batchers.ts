import { systemClock, type Clock } from "../service/index.js";
import { allAborted, Batcher, type BatcherStats, type QueuedRequest } from "./batcher.js";
import { batchErrorToRpc } from "./batch-errors.js";
import { batchTimeoutMs, deadlineGroup, withinDeadline, type DeadlinePolicy } from "./batch-deadlines.js";
import type { BatchPart } from "./join-split.js";

export interface KeyedBatchersOptions {
  /** What the batch's call is, for errors: "worker call", "scoremesh.feature.v1.FeatureService/ScoreRows". */
  callName: string;
  /** What the queue is, for a full queue's error: "router queue". */
  queueName: string;
  /** How long the first call of a batch waits for others, ms. */
  windowMs: number;
  /** Most rows in one downstream call (a single larger call goes alone). */
  maxRows: number;
  /** Downstream calls in flight at once per key. */
  maxInFlight: number;
  /** Most rows waiting per key before callers get RESOURCE_EXHAUSTED. */
  maxQueueRows: number;
  deadlines: DeadlinePolicy;
  /** Told the rows of each batch that ran (see BatchMetrics). */
  onBatch?: (rows: number) => void;
  /** Longest timeout of one downstream call, ms. Default: none. */
  maxTimeoutMs?: number;
  clock?: Clock;
}

/** What the call of one batch gets: the callers' parts in arrival order, its timeout, and a signal that fires once all callers have gone. */
export interface KeyedBatch<I> {
  parts: BatchPart<I>[];
  timeoutMs: number;
  signal: AbortSignal;
}

interface Waiting<I> {
  input: I;
  deadline: number;
  signal: AbortSignal | undefined;
}

/**
 * The batchers of one hop, one per key (a model, a model version) and deadline group, created on first use: a
 * caller submits its rows with its own deadline and signal, the batch's call gets a timeout under the
 * `DeadlinePolicy`, and the caller gets its output, the batch's error, or the batcher's refusal as an RPC error.
 *
 * @example
 *   const hop = new KeyedBatchers<Float32Array, Float32Array>({ callName: "worker call", queueName: "router queue", windowMs: 0,
 *     maxRows: 256, maxInFlight: 2, maxQueueRows: 8192, deadlines: WORKER_DEADLINES });
 *   const scores = await hop.submit("m/1", (b) => scoreBatch(b), matrix, rows, { timeoutMs: 500 });
 */
export class KeyedBatchers<I, O> {
  private readonly batchers = new Map<string, Batcher<Waiting<I>, O>>();
  private readonly clock: Clock;

  constructor(private readonly o: KeyedBatchersOptions) {
    this.clock = o.clock ?? systemClock;
  }

  /** Queues `rows` rows of one caller for `key`; `run` answers a batch of them (the first `run` given for a key serves it). */
  async submit(
    key: string,
    run: (batch: KeyedBatch<I>) => Promise<O[]>,
    input: I,
    rows: number,
    { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal | undefined },
  ): Promise<O> {
    const b = this.batcherOf(key + deadlineGroup(this.o.deadlines, timeoutMs), run);
    const deadline = this.clock.now() + timeoutMs;
    try {
      const output = b.submit({ input, deadline, signal }, rows, { deadline, signal });
      return await withinDeadline(output, timeoutMs, this.clock, `${this.o.callName} for ${key}`);
    } catch (err) {
      throw batchErrorToRpc(err, `${this.o.queueName} for ${key} is full`);
    }
  }

  private batcherOf(key: string, run: (batch: KeyedBatch<I>) => Promise<O[]>): Batcher<Waiting<I>, O> {
    let b = this.batchers.get(key);
    if (!b) {
      const { windowMs, maxRows, maxInFlight, maxQueueRows } = this.o;
      b = new Batcher((batch) => run(this.toBatch(batch)), {
        maxBatchRows: maxRows,
        maxQueueDelayMs: windowMs,
        maxInFlight,
        maxQueueRows,
        clock: this.clock,
        ...(this.o.onBatch ? { onBatch: this.o.onBatch } : {}),
      });
      this.batchers.set(key, b);
    }
    return b;
  }

  private toBatch(batch: QueuedRequest<Waiting<I>>[]): KeyedBatch<I> {
    const deadlines = batch.map((q) => q.input.deadline);
    return {
      parts: batch.map((q) => ({ input: q.input.input, rows: q.rows })),
      timeoutMs: batchTimeoutMs(this.o.deadlines, deadlines, this.clock.now(), this.o.maxTimeoutMs),
      // The batch's call (and its retries) stops once every caller of the batch has gone.
      signal: allAborted(batch.map((q) => q.input.signal)),
    };
  }

  /** Batches, rows and calls so far per key and deadline group ("credit-default@43"). */
  stats(): Record<string, BatcherStats> {
    return Object.fromEntries([...this.batchers.entries()].map(([k, b]) => [k, b.stats()]));
  }

  /** Rejects every queued call with `reason` (at shutdown; calls in flight finish). */
  close(reason: Error): void {
    for (const b of this.batchers.values()) b.close(reason);
  }
}
