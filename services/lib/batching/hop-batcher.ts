import { Code, ConnectError } from "@connectrpc/connect";
import { context, SpanKind, SpanStatusCode, trace, type Context, type Link } from "@opentelemetry/api";
import {
  Batcher,
  DeadlineExpiredError,
  QueueFullError,
  RequestCancelledError,
  allAborted,
  realClock,
  type BatchClock,
  type BatcherStats,
  type QueuedRequest,
} from "./batcher.js";
import type { Logger } from "pino";
import { tracer } from "../rpc/index.js";

export interface HopBatcherOptions {
  /** Name of the downstream call, for spans and errors, e.g. "scoremesh.feature.v1.FeatureService/ScoreRows". */
  name: string;
  /** How long the first call of a batch waits for others, ms. Default 0: calls of one I/O tick, or that arrive while earlier batches are in flight, go together. */
  windowMs?: number;
  /** Most rows in one downstream call (a single larger call goes alone). Default 256. */
  maxRows?: number;
  /** Downstream calls in flight at once per key. Default 4. */
  maxInFlight?: number;
  /** Most rows waiting per key before callers get RESOURCE_EXHAUSTED. Default 8192. */
  maxQueueRows?: number;
  clock?: BatchClock;
}

/** What one downstream call gets: every row of the batch, the latest deadline of its callers, and a signal that fires once all of them have gone. */
export interface HopCall<R> {
  key: string;
  rows: R[];
  timeoutMs: number;
  signal: AbortSignal;
}

interface Part<R> {
  rows: R[];
  deadline: number;
  signal: AbortSignal | undefined;
  ctx: Context;
}

/**
 * Batching of one internal hop: the rows of concurrent calls for the same key (the model) go downstream in one
 * call, so the gRPC cost of the hop (about 230 µs of CPU, client and server) is paid once per batch rather than
 * once per call. The edge batches validator → feature and the feature service feature → router with it; the
 * router batches router → worker with `WorkerBatcher`.
 *
 * Every caller keeps its own trace: a batch of one call runs in that call's trace context, exactly as without
 * batching; a batch of several runs under a span of the first caller's trace with a link to every caller's
 * span, and rows carry their own trace ids in the message (the audit log records those). A failure of the
 * downstream call reaches every caller of the batch. Only calls with about the same time left share a batch
 * (see `call`).
 *
 * @example
 *   const hop = new HopBatcher<ValidatedRow, RowDecision>(
 *     ({ key, rows, timeoutMs, signal }) => feature.scoreRows({ model: key, rows }, { timeoutMs, signal }).then((r) => r.decisions),
 *     { name: "scoremesh.feature.v1.FeatureService/ScoreRows" });
 *   const decisions = await hop.call("credit-default", rows, { timeoutMs: ctx.timeoutMs() ?? 2000, signal: ctx.signal });
 */
export class HopBatcher<R, D> {
  private readonly batchers = new Map<string, Batcher<Part<R>, D[]>>();
  private readonly opts: Required<Omit<HopBatcherOptions, "clock" | "name">> & { clock: BatchClock };

  constructor(
    private readonly send: (call: HopCall<R>) => Promise<D[]>,
    private readonly options: HopBatcherOptions,
  ) {
    const { windowMs = 0, maxRows = 256, maxInFlight = 4, maxQueueRows = 8192, clock = realClock } = options;
    this.opts = { windowMs, maxRows, maxInFlight, maxQueueRows, clock };
  }

  /**
   * Sends `rows` downstream, batched with the rows of concurrent calls for `key` whose time left is within about
   * 19 % of this call's (a quarter of an octave); resolves with one answer per row, in order. The batch goes
   * with the earliest deadline of its callers, so that downstream budgets (the router's cascade gives the
   * champion part of the time left and keeps some back for the rules) hold for every caller in it, and a caller
   * gets its answer, or DEADLINE_EXCEEDED, by its own deadline whatever the batch does.
   */
  async call(key: string, rows: R[], { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal }): Promise<D[]> {
    const bucket = Math.floor(4 * Math.log2(Math.max(1, timeoutMs)));
    const b = batcherOf(this.batchers, `${key}@${bucket}`, (batch) => this.run(key, batch), this.opts);
    const deadline = this.opts.clock.now() + timeoutMs;
    try {
      const answer = b.submit({ rows, deadline, signal, ctx: context.active() }, rows.length, { deadline, signal });
      return await withinDeadline(answer, timeoutMs, this.opts.clock, `${this.options.name} for ${key}`);
    } catch (err) {
      throw batchErrorToRpc(err, `${this.options.name} queue for ${key}`);
    }
  }

  private async run(key: string, batch: QueuedRequest<Part<R>>[]): Promise<D[][]> {
    const parts = batch.map((q) => q.input);
    const now = this.opts.clock.now();
    const earliest = Math.min(...parts.map((p) => p.deadline));
    const timeoutMs = Math.max(1, Math.floor(earliest - now));
    const signal = allAborted(parts.map((p) => p.signal));
    const rows = parts.length === 1 ? parts[0]!.rows : parts.flatMap((p) => p.rows);
    const answers =
      parts.length === 1
        ? await context.with(parts[0]!.ctx, () => this.send({ key, rows, timeoutMs, signal }))
        : await this.sendBatch(key, parts, rows, timeoutMs, signal);
    if (answers.length !== rows.length) {
      throw new ConnectError(`${this.options.name} answered ${answers.length} rows for ${rows.length}`, Code.Internal);
    }
    const out: D[][] = [];
    let at = 0;
    for (const p of parts) {
      out.push(answers.slice(at, at + p.rows.length));
      at += p.rows.length;
    }
    return out;
  }

  /** A batch of several calls: one span in the first caller's trace, linked to every caller's span. */
  private async sendBatch(key: string, parts: Part<R>[], rows: R[], timeoutMs: number, signal: AbortSignal): Promise<D[]> {
    const links: Link[] = [];
    for (const p of parts) {
      const sc = trace.getSpanContext(p.ctx);
      if (sc && trace.isSpanContextValid(sc)) links.push({ context: sc });
    }
    const span = tracer.startSpan(
      `batch ${this.options.name}`,
      { kind: SpanKind.INTERNAL, links, attributes: { "scoremesh.batch.calls": parts.length, "scoremesh.batch.rows": rows.length, "scoremesh.batch.key": key } },
      parts[0]!.ctx,
    );
    try {
      return await context.with(trace.setSpan(parts[0]!.ctx, span), () => this.send({ key, rows, timeoutMs, signal }));
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: ConnectError.from(err).rawMessage });
      throw err;
    } finally {
      span.end();
    }
  }

  /** Batches, rows and calls so far per key and deadline bucket ("credit-default@43"). */
  stats(): Record<string, BatcherStats> {
    return Object.fromEntries([...this.batchers.entries()].map(([k, b]) => [k, b.stats()]));
  }

  /**
   * Logs how well the hop batches every `everyMs` while it carries traffic (calls per downstream call, rows, calls
   * shed or expired); returns a function that stops it.
   */
  logStats(log: Logger, everyMs = 60_000): () => void {
    let last = -1;
    const timer = setInterval(() => {
      const stats = this.stats();
      const all = Object.values(stats);
      const batches = all.reduce((n, s) => n + s.batches, 0);
      if (batches === last) return;
      last = batches;
      const calls = all.reduce((n, s) => n + s.requestsRun, 0);
      log.info({ hop: this.options.name, batches, callsPerBatch: batches ? Number((calls / batches).toFixed(2)) : 0, byKey: stats }, "hop batching");
    }, everyMs).unref();
    return () => clearInterval(timer);
  }

  /** Rejects every queued call with UNAVAILABLE (at shutdown; calls in flight finish). */
  close(): void {
    for (const b of this.batchers.values()) b.close(new ConnectError("the service is shutting down", Code.Unavailable));
  }
}

/**
 * The RPC error a caller of a batcher gets for the batcher's own refusals: a full queue is RESOURCE_EXHAUSTED,
 * a deadline passed in the queue DEADLINE_EXCEEDED, a cancelled request CANCELED; any other error (the batch's
 * own call failed) as it is.
 */
export function batchErrorToRpc(err: unknown, queue: string): unknown {
  if (err instanceof QueueFullError) return new ConnectError(`${queue} is full: ${err.message}`, Code.ResourceExhausted);
  if (err instanceof DeadlineExpiredError) return new ConnectError(err.message, Code.DeadlineExceeded);
  if (err instanceof RequestCancelledError) return new ConnectError(err.message, Code.Canceled);
  return err;
}

/** The batcher of `key` in `batchers`, created on first use with the options that the hop and worker batchers share. */
export function batcherOf<I, O>(
  batchers: Map<string, Batcher<I, O>>,
  key: string,
  run: (batch: QueuedRequest<I>[]) => Promise<O[]>,
  o: { windowMs: number; maxRows: number; maxInFlight: number; maxQueueRows: number; clock: BatchClock },
): Batcher<I, O> {
  let b = batchers.get(key);
  if (!b) {
    b = new Batcher(run, { maxBatchRows: o.maxRows, maxQueueDelayMs: o.windowMs, maxInFlight: o.maxInFlight, maxQueueRows: o.maxQueueRows, clock: o.clock });
    batchers.set(key, b);
  }
  return b;
}

/**
 * `answer`, or DEADLINE_EXCEEDED once `timeoutMs` has passed on `clock`: a caller waits for a batch (which may run
 * to a later deadline, or hang) no longer than its own deadline.
 */
export function withinDeadline<T>(answer: Promise<T>, timeoutMs: number, clock: BatchClock, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.schedule(
      () => reject(new ConnectError(`${what}: no answer within the caller's deadline (${timeoutMs} ms)`, Code.DeadlineExceeded)),
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
