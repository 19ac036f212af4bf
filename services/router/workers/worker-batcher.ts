import { Code, ConnectError } from "@connectrpc/connect";
import type { ModelCard } from "../../lib/model/index.js";
import { allAborted, Batcher, realClock, type BatchClock, type QueuedRequest, batchErrorToRpc, batcherOf, withinDeadline } from "../../lib/batching/index.js";
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
  clock?: BatchClock;
}

/** What one caller of the router puts in a batch. */
interface Part {
  card: ModelCard;
  matrix: Float32Array;
  /** Clock time this caller's deadline ends. */
  deadline: number;
  signal: AbortSignal | undefined;
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
  private readonly batchers = new Map<string, Batcher<Part, Float32Array>>();
  private readonly opts: Required<Omit<WorkerBatcherOptions, "clock">> & { clock: BatchClock };

  constructor(
    private readonly call: (c: WorkerCall) => Promise<Float32Array>,
    { windowMs = 0, maxRows = 256, maxInFlight = 2, maxQueueRows = 8192, workerTimeoutMs = 1000, clock = realClock }: WorkerBatcherOptions = {},
  ) {
    this.opts = { windowMs, maxRows, maxInFlight, maxQueueRows, workerTimeoutMs, clock };
  }

  /** Scores `rows` rows of one caller; resolves with their scores, in order. */
  async score(
    model: string,
    version: string,
    card: ModelCard,
    matrix: Float32Array,
    rows: number,
    { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<Float32Array> {
    const key = `${model}/${version}`;
    const b = batcherOf(this.batchers, key, (batch) => this.run(model, version, batch), this.opts);
    const deadline = this.opts.clock.now() + timeoutMs;
    try {
      // The batch's worker call runs to the latest deadline of its callers; each caller waits only for its own,
      // so its cascade goes on to the next step in time.
      const scores = b.submit({ card, matrix, deadline, signal }, rows, { deadline, signal });
      return await withinDeadline(scores, timeoutMs, this.opts.clock, `worker call for ${key}`);
    } catch (err) {
      throw batchErrorToRpc(err, `router queue for ${key}`);
    }
  }

  private async run(model: string, version: string, batch: QueuedRequest<Part>[]): Promise<Float32Array[]> {
    const card = batch[0]!.input.card;
    let rows = 0;
    for (const r of batch) rows += r.rows;
    const matrix = batch.length === 1 ? batch[0]!.input.matrix : new Float32Array(rows * card.features.length);
    if (batch.length > 1) {
      let off = 0;
      for (const r of batch) {
        matrix.set(r.input.matrix, off);
        off += r.input.matrix.length;
      }
    }
    const now = this.opts.clock.now();
    const latest = Math.max(...batch.map((r) => r.input.deadline));
    const timeoutMs = Math.max(1, Math.min(this.opts.workerTimeoutMs, Math.floor(latest - now)));
    // The worker call (and its retries) stops once every caller of the batch has gone.
    const signal = allAborted(batch.map((r) => r.input.signal));
    const scores = await this.call({ model, version, card, matrix, rows, timeoutMs, workerTimeoutMs: this.opts.workerTimeoutMs, signal });
    const out: Float32Array[] = [];
    let row = 0;
    for (const r of batch) {
      out.push(scores.subarray(row, row + r.rows));
      row += r.rows;
    }
    return out;
  }

  /** Calls and rows per version so far (for logs and the bench). */
  stats(): Record<string, ReturnType<Batcher<Part, Float32Array>["stats"]>> {
    return Object.fromEntries([...this.batchers.entries()].map(([k, b]) => [k, b.stats()]));
  }

  close(): void {
    for (const b of this.batchers.values()) b.close(new ConnectError("the router is shutting down", Code.Unavailable));
  }
}
