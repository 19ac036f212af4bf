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
export async function watchKv<T>(opts: {
  /** The connection whose reconnects restart the watch. */
  nc: NatsConnection;
  kv: KV;
  /** The bucket's name, for errors. */
  bucket: string;
  /** Reads a value (the key is given for checks that depend on it, e.g. a signature over the key). */
  decode: (text: string, key: string) => T;
  onValue: (value: T, key: string) => void;
  /** A key was deleted or purged. */
  onDelete?: (key: string) => void;
  onError: (err: unknown) => void;
}): Promise<{ close(): void }> {
  const { nc, kv, bucket, decode, onValue, onDelete, onError } = opts;
  let closed = false;
  /** Bumped by every (re)start: a watch of an older generation stops itself and never restarts anything. */
  let generation = 0;
  let current: QueuedIterator<KvEntry> | undefined;
  const live = (gen: number) => !closed && gen === generation && !nc.isClosed();

  /** Resolved by the first watch (of any generation) that has delivered the current values. */
  let initialized!: () => void;
  const ready = new Promise<void>((r) => (initialized = r));
  /** Restarts after `delayMs` unless the watch was closed or restarted meanwhile. */
  const restartLater = (gen: number, delayMs: number) =>
    setTimeout(() => {
      if (live(gen)) void restart();
    }, delayMs).unref();

  /** Starts the watch of generation `gen`; resolves once it is subscribed. */
  const start = async (gen: number): Promise<void> => {
    const iter = await kv.watch({ initializedFn: () => initialized() });
    if (!live(gen)) {
      iter.stop();
      return;
    }
    current = iter;
    void (async () => {
      try {
        for await (const e of iter) {
          try {
            if (e.operation === "PUT") onValue(decode(e.string(), e.key), e.key);
            else onDelete?.(e.key);
          } catch (err) {
            onError(err);
          }
        }
        restartLater(gen, 250);
      } catch (err) {
        if (!live(gen)) return;
        onError(new KvWatchError(`the watch of KV bucket ${bucket} ended: ${String(err)}`, { cause: err }));
        restartLater(gen, 250);
      }
    })();
  };

  const restart = async (): Promise<void> => {
    const gen = ++generation;
    current?.stop();
    current = undefined;
    for (let attempt = 0; live(gen); attempt++) {
      try {
        await start(gen);
        return;
      } catch (err) {
        if (!live(gen)) return;
        onError(
          new KvWatchError(
            `could not re-create the watch of KV bucket ${bucket} (attempt ${attempt + 1}): ${String(err)}`,
            { cause: err },
          ),
        );
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 2000)));
      }
    }
  };

  // Typed as a plain AsyncIterable, but nats.js returns its QueuedIterator: stop() ends it and drops the listener.
  const status = nc.status() as AsyncIterable<Status> & { stop?(): void };
  void (async () => {
    for await (const s of status) {
      if (s.type === Events.Reconnect && !closed) void restart();
    }
  })();
  try {
    await start(++generation);
    await ready;
  } catch (err) {
    status.stop?.();
    throw err;
  }
  return {
    close: () => {
      closed = true;
      status.stop?.();
      current?.stop();
    },
  };
}
