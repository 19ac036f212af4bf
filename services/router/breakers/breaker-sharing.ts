import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import { BreakerStore } from "./breaker-store.js";
import type { BreakerBoard } from "./breakers.js";

/**
 * Shares breaker state with the other router replicas over NATS: our transitions are published, theirs adopted
 * (through BreakerSync's merge rules). Resolves once the current transitions of every target have been applied;
 * `close()` stops both directions.
 */
export async function shareBreakers(
  nc: NatsConnection,
  breakers: BreakerBoard,
  log: Logger,
): Promise<{ close(): void }> {
  const store = await BreakerStore.open(nc);
  breakers.publish = (t) =>
    void store
      .publish(t)
      .catch((err: unknown) =>
        log.warn(
          { err, target: t.target, state: t.state },
          "could not publish a breaker transition yet: it is put again once NATS answers",
        ),
      );
  try {
    const watch = await store.watch(
      (t) => breakers.apply(t),
      (err) => log.warn({ err }, "ignoring an unreadable breaker transition"),
    );
    return {
      close: () => {
        watch.close();
        store.close();
      },
    };
  } catch (err) {
    store.close();
    throw err;
  }
}
