import type { KV } from "nats";

/**
 * Watches every key of a JetStream KV bucket with last-value semantics: `onValue` gets the current value of every
 * key, then every new value (deletes and purges are skipped), until `close()`. Resolves once the current values
 * have been delivered, so a replica that starts late knows the state before it serves. A value `decode` cannot
 * read goes to `onError` and the watch goes on.
 */
export async function watchKv<T>(
  kv: KV,
  decode: (text: string) => T,
  onValue: (value: T) => void,
  onError: (err: unknown) => void,
): Promise<{ close(): void }> {
  let initialized!: () => void;
  const ready = new Promise<void>((r) => (initialized = r));
  const iter = await kv.watch({ initializedFn: () => initialized() });
  void (async () => {
    for await (const e of iter) {
      if (e.operation !== "PUT") continue;
      try {
        onValue(decode(e.string()));
      } catch (err) {
        onError(err);
      }
    }
  })();
  await ready;
  return { close: () => iter.stop() };
}
