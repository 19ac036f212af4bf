import { Events, type NatsConnection } from "nats";
import type { Logger } from "pino";
import { closeNats, connectNats, WORKER_BUCKET, WorkerStore, type NatsClientIdentity } from "../lib/nats/index.js";
import type { WorkerTable } from "./worker-table.js";

/**
 * How current the monitor's view of the workers is, for the page: NATS not reached yet, the bucket not readable
 * yet, the bucket watched, or NATS lost since (records age out while it is away, and come back with it).
 */
export type WorkerWatchState = "connecting" | "retrying" | "watching" | "disconnected";

export interface WorkerWatch {
  state(): WorkerWatchState;
  close(): Promise<void>;
}

/**
 * Fills `table` from the worker bucket, in the background: the monitor records decisions whether or not NATS
 * is there, so neither its start nor its health waits for this. Connects (retrying for ever), opens the bucket
 * and watches it; a failure to open or watch is logged and retried every `retryMs`.
 */
export function watchWorkers(opts: {
  natsServers: string[];
  natsIdentity: NatsClientIdentity;
  table: WorkerTable;
  log: Logger;
  retryMs?: number;
}): WorkerWatch {
  const { table, log } = opts;
  let state: WorkerWatchState = "connecting";
  let closed = false;
  let nc: NatsConnection | undefined;
  let watch: { close(): void } | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  const follow = async () => {
    const conn = (nc = await connectNats(opts.natsServers, `monitor-${process.pid}`, opts.natsIdentity, log));
    if (closed) return closeNats(conn);
    void (async () => {
      for await (const s of conn.status()) {
        if (s.type === Events.Disconnect && watch) state = "disconnected";
        else if (s.type === Events.Reconnect && watch) state = "watching";
      }
    })();
    for (let failures = 0; !closed; failures++) {
      try {
        const store = await WorkerStore.open(conn);
        if (closed) return;
        table.ttlMs = store.ttlMs;
        watch = await store.watch(
          (c) => table.apply(c, Date.now()),
          (err) => log.warn({ err, bucket: WORKER_BUCKET }, "ignoring an unreadable worker record"),
        );
        state = "watching";
        log.info({ bucket: WORKER_BUCKET, workers: table.list(Date.now()).length }, "watching the model workers");
        return;
      } catch (err) {
        state = "retrying";
        if (failures === 0) log.warn({ err, bucket: WORKER_BUCKET }, "cannot watch the model workers yet; retrying");
        await new Promise((r) => (retryTimer = setTimeout(r, opts.retryMs ?? 2000)));
      }
    }
  };
  void follow().catch((err: unknown) => log.error({ err }, "watching the model workers failed"));
  return {
    state: () => state,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      watch?.close();
      if (nc) await closeNats(nc);
    },
  };
}
