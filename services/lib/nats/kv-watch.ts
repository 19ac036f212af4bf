import { Events, type KV, type KvEntry, type NatsConnection, type QueuedIterator, type Status } from "nats";

/** A KV watch that ended with an error or could not be re-created; the watch keeps trying (see `watchKv`). */
export class KvWatchError extends Error {
  override readonly name = "KvWatchError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Watches every key of a JetStream KV bucket with last-value semantics: `onValue` gets the current value of every
 * key, then every new value, until `close()`; deletes and purges go to `onDelete` (skipped without it). Resolves once the current values
 * have been delivered, so a replica that starts late knows the state before it serves. A value `decode` cannot
 * read goes to `onError` and the watch goes on.
 *
 * The watch outlives nats-server restarts. A KV watch is an ephemeral ordered consumer, which a restarted server
 * no longer has; nats.js re-creates it only after two missed idle heartbeats (5 s each), so without help a change
 * made in the first 5-15 s after the server went away arrives only then (about 11 s in
 * test/e2e/nats-restart.test.ts, for policies and breakers alike). So on every reconnect of `nc`, and 250 ms
 * after the watch ends by itself, it is started again with a replay of the current value of every key: the
 * callers keep last-value state, so a replay changes nothing they already have, and nothing written while the
 * watch was down is missed. Failures to re-create it go to `onError` as `KvWatchError` and are retried (250 ms,
 * doubling up to 2 s) until it is back or closed.
 *
 * @example
 *   const w = await watchKv({ nc, kv, bucket: "scoremesh_policy", decode: decodePolicy, onValue: apply, onError: (err) => log.warn({ err }) });
 *   // ... later
 *   w.close();
 */
export async function watchKv<T>(opts: KvWatchOptions<T>): Promise<{ close(): void }> {
  const watch = new KvWatch(opts);
  await watch.open();
  return { close: () => watch.close() };
}

export interface KvWatchOptions<T> {
  /** The connection whose reconnects restart the watch. */
  nc: NatsConnection;
  kv: KV;
  /** The bucket's name, for errors. */
  bucket: string;
  /** Reads a value (the key is given for checks that depend on it, e.g. a signature over the key). */
  decode: (text: string, key: string) => T;
  /** A key's new value, with its revision (the stream sequence of the KV entry). */
  onValue: (value: T, key: string, revision: number) => void;
  /** A key was deleted or purged. */
  onDelete?: (key: string) => void;
  onError: (err: unknown) => void;
}

/** The state behind `watchKv`: the current watch, its generation, and the connection's status listener. */
class KvWatch<T> {
  private closed = false;
  /** Bumped by every (re)start: a watch of an older generation stops itself and never restarts anything. */
  private generation = 0;
  private current: QueuedIterator<KvEntry> | undefined;
  /** Resolved by the first watch (of any generation) that has delivered the current values. */
  private initialized!: () => void;
  private readonly ready = new Promise<void>((r) => (this.initialized = r));
  // Typed as a plain AsyncIterable, but nats.js returns its QueuedIterator: stop() ends it and drops the listener.
  private readonly status: AsyncIterable<Status> & { stop?(): void };

  constructor(private readonly opts: KvWatchOptions<T>) {
    this.status = opts.nc.status() as AsyncIterable<Status> & { stop?(): void };
  }

  /** Starts the watch and the reconnect listener; resolves once the current values have been delivered. */
  async open(): Promise<void> {
    void this.restartOnReconnect();
    try {
      await this.start(++this.generation);
      await this.ready;
    } catch (err) {
      this.status.stop?.();
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    this.status.stop?.();
    this.current?.stop();
  }

  private live(gen: number): boolean {
    return !this.closed && gen === this.generation && !this.opts.nc.isClosed();
  }

  private async restartOnReconnect(): Promise<void> {
    for await (const s of this.status) {
      if (s.type === Events.Reconnect && !this.closed) void this.restart();
    }
  }

  /** Restarts after `delayMs` unless the watch was closed or restarted meanwhile. */
  private restartLater(gen: number, delayMs: number): void {
    setTimeout(() => {
      if (this.live(gen)) void this.restart();
    }, delayMs).unref();
  }

  /** Starts the watch of generation `gen`; resolves once it is subscribed. */
  private async start(gen: number): Promise<void> {
    const iter = await this.opts.kv.watch({ initializedFn: () => this.initialized() });
    if (!this.live(gen)) {
      iter.stop();
      return;
    }
    this.current = iter;
    void this.consume(iter, gen);
  }

  /** Hands every entry to the callbacks until the watch ends, then restarts it (unless it was meant to end). */
  private async consume(iter: QueuedIterator<KvEntry>, gen: number): Promise<void> {
    const { decode, onValue, onDelete, onError, bucket } = this.opts;
    try {
      for await (const e of iter) {
        try {
          if (e.operation === "PUT") onValue(decode(e.string(), e.key), e.key, e.revision);
          else onDelete?.(e.key);
        } catch (err) {
          onError(err);
        }
      }
      this.restartLater(gen, 250);
    } catch (err) {
      if (!this.live(gen)) return;
      onError(new KvWatchError(`the watch of KV bucket ${bucket} ended: ${String(err)}`, { cause: err }));
      this.restartLater(gen, 250);
    }
  }

  /** A new generation of the watch, retried with backoff (250 ms doubling to 2 s) until it is back or closed. */
  private async restart(): Promise<void> {
    const gen = ++this.generation;
    this.current?.stop();
    this.current = undefined;
    for (let attempt = 0; this.live(gen); attempt++) {
      try {
        await this.start(gen);
        return;
      } catch (err) {
        if (!this.live(gen)) return;
        const message = `could not re-create the watch of KV bucket ${this.opts.bucket} (attempt ${attempt + 1})`;
        this.opts.onError(new KvWatchError(`${message}: ${String(err)}`, { cause: err }));
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 2000)));
      }
    }
  }
}
