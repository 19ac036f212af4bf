import { Code, ConnectError } from "@connectrpc/connect";
import type { ModelCard } from "../../lib/model/index.js";
import type { Clock } from "../../lib/service/index.js";
import {
  joinMatrices,
  joinSplit,
  KeyedBatchers,
  sliceRows,
  WORKER_DEADLINES,
  type BatcherStats,
  type DeadlinePolicy,
  type KeyedBatch,
} from "../../lib/batching/index.js";
import type { WorkerCall } from "./worker-call.js";

export interface WorkerBatcherOptions {
  /** How long the first row of a batch waits for others, in ms. Default 0: rows of one I/O tick, or that arrive while earlier batches are in flight, go together. */
  windowMs?: number;
  /** Most rows in one ModelInfer. Default 256. */
  maxRows?: number;
  /** ModelInfer calls in flight at once per model version. Default 2. */
  maxInFlight?: number;
  /** Most rows waiting per version before callers get RESOURCE_EXHAUSTED. Default 8192. */
  maxQueueRows?: number;
  /** Deadline of one worker call (a batch gets the latest of its callers' deadlines, up to this). Default 1000. */
  workerTimeoutMs?: number;
  /** Which calls share a batch and which deadline it goes with. Default `WORKER_DEADLINES`. */
  deadlines?: DeadlinePolicy;
  clock?: Clock;
  /** Told the rows of each ModelInfer (see BatchMetrics). */
  onBatch?: (rows: number) => void;
}

/** What one caller of the router puts in a batch. */
interface Part {
  card: ModelCard;
  matrix: Float32Array;
}

/**
 * Batching across the hop: gathers the rows of concurrent Route calls for the same model version into one
 * ModelInfer, so the gRPC cost of a worker call is paid once per batch instead of once per row.
 *
 * @example
 *   const b = new WorkerBatcher((call) => callWorkers(workers, call), { windowMs: 0.2, maxRows: 256 });
 *   const scores = await b.score("credit-default", "1", card, matrix, rows, { timeoutMs: 500, signal });
 */
export class WorkerBatcher {
  private readonly batchers: KeyedBatchers<Part, Float32Array>;
  private readonly workerTimeoutMs: number;

  constructor(
    private readonly call: (c: WorkerCall) => Promise<Float32Array>,
    {
      windowMs = 0,
      maxRows = 256,
      maxInFlight = 2,
      maxQueueRows = 8192,
      workerTimeoutMs = 1000,
      deadlines = WORKER_DEADLINES,
      clock,
      onBatch,
    }: WorkerBatcherOptions = {},
  ) {
    this.workerTimeoutMs = workerTimeoutMs;
    this.batchers = new KeyedBatchers({
      callName: "worker call",
      queueName: "router queue",
      windowMs,
      maxRows,
      maxInFlight,
      maxQueueRows,
      deadlines,
      maxTimeoutMs: workerTimeoutMs,
      clock,
      ...(onBatch ? { onBatch } : {}),
    });
  }

  /**
   * Scores `rows` rows of one caller; resolves with their scores, in order. The batch's worker call runs to the
   * latest deadline of its callers (`WORKER_DEADLINES`); each caller waits only for its own, so its cascade goes
   * on to the next step in time.
   */
  score(
    model: string,
    version: string,
    card: ModelCard,
    matrix: Float32Array,
    rows: number,
    { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<Float32Array> {
    return this.batchers.submit(
      `${model}/${version}`,
      (batch) => this.run(model, version, batch),
      { card, matrix },
      rows,
      { timeoutMs, signal },
    );
  }

  private run(model: string, version: string, { parts, timeoutMs, signal }: KeyedBatch<Part>): Promise<Float32Array[]> {
    const card = parts[0]!.input.card;
    const workerTimeoutMs = this.workerTimeoutMs;
    return joinSplit(parts, {
      join: (ps) => joinMatrices(ps.map((p) => p.matrix)),
      call: (matrix, rows) => this.call({ model, version, card, matrix, rows, timeoutMs, workerTimeoutMs, signal }),
      split: (scores, slice) => sliceRows(scores, slice, 1),
    });
  }

  /** Calls and rows per version so far (for logs and the bench). */
  stats(): Record<string, BatcherStats> {
    return this.batchers.stats();
  }

  close(): void {
    this.batchers.close(new ConnectError("the router is shutting down", Code.Unavailable));
  }
}
