import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import { PolicyStore, type TrustedOperators } from "../../lib/nats/index.js";
import type { MonitorStore } from "../monitor-stores.js";
import type { ModelCards } from "./model-cards.js";

/**
 * Follows the serving policies (read only) and tells the page's model cards which versions are champion and
 * canary. A monitor store (connectMonitorStores opens it once NATS is reachable); nothing to flush.
 */
export function servingWatch(cards: ModelCards, trusted: TrustedOperators, log: Logger): MonitorStore {
  return {
    name: "serving policies (model cards)",
    async open(nc: NatsConnection) {
      const store = await PolicyStore.open(nc, { trusted });
      await store.watch(
        (p) =>
          cards.setServing(p.model, {
            champion: p.championVersion,
            ...(p.canary ? { canary: p.canary.version, canaryPercent: p.canary.percent } : {}),
          }),
        (err, model) => log.warn({ err, model }, "model cards: ignoring a refused serving policy"),
      );
    },
    flush: () => Promise.resolve(),
  };
}
