import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import { closeNats, connectNats, type NatsClientIdentity } from "../lib/nats/index.js";

/** A store of the monitor's in NATS: opened once connected, flushed every few seconds. */
export interface MonitorStore {
  name: string;
  open(nc: NatsConnection): Promise<void>;
  flush(): Promise<void>;
}

/**
 * Connects the monitor's NATS stores (review cases, outcomes) in the background (the monitor serves while NATS is
 * away): connects, opens each store (retrying every `retryMs`), and flushes the writes that wait every `retryMs`.
 */
export function connectMonitorStores(opts: {
  natsServers: string[];
  natsIdentity: NatsClientIdentity;
  stores: MonitorStore[];
  log: Logger;
  retryMs?: number;
}): { close(): Promise<void> } {
  const retryMs = opts.retryMs ?? 2000;
  let closed = false;
  let nc: NatsConnection | undefined;
  const flusher = setInterval(() => opts.stores.forEach((s) => void s.flush()), retryMs);
  flusher.unref();
  const openOne = async (conn: NatsConnection, store: MonitorStore) => {
    for (let failures = 0; !closed; failures++) {
      try {
        await store.open(conn);
        opts.log.info({ store: store.name }, "monitor store opened in NATS");
        return;
      } catch (err) {
        if (failures === 0) opts.log.warn({ err, store: store.name }, "cannot open a monitor store yet; retrying");
        await new Promise((r) => setTimeout(r, retryMs).unref());
      }
    }
  };
  const open = async () => {
    const conn = (nc = await connectNats(
      opts.natsServers,
      `monitor-stores-${process.pid}`,
      opts.natsIdentity,
      opts.log,
    ));
    await Promise.all(opts.stores.map((s) => openOne(conn, s)));
  };
  void open().catch((err: unknown) => opts.log.error({ err }, "opening the monitor stores failed"));
  return {
    async close() {
      closed = true;
      clearInterval(flusher);
      if (nc) await closeNats(nc);
    },
  };
}
