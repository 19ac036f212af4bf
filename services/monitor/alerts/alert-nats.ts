import { toBinary } from "@bufbuild/protobuf";
import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import { AlertSchema } from "../../../gen/scoremesh/alert/v1/alert_pb.js";
import { closeNats, connectNats, type NatsClientIdentity } from "../../lib/nats/index.js";
import { BREAKER_BUCKET, BreakerStore } from "../../router/breakers/breaker-store.js";
import { alertMessage, alertSubject } from "./alert-message.js";
import type { BreakerTable } from "./breaker-table.js";
import type { AlertChange } from "./reading.js";

export interface AlertNats {
  /** Publishes each change on `scoremesh.alerts.<model>` (dropped, and counted in the log, before NATS is reached). */
  publish(changes: readonly AlertChange[]): void;
  close(): Promise<void>;
}

/** Publishes changes of state as scoremesh.alert.v1.Alert (protobuf binary) on `nc`. */
export function publishAlerts(nc: NatsConnection, changes: readonly AlertChange[]): void {
  for (const c of changes)
    nc.publish(alertSubject(c.alert.model), toBinary(AlertSchema, alertMessage(c.alert, c.previous)));
}

/**
 * The alert engine's NATS side, in the background (the monitor serves whether or not NATS is there): connects
 * (retrying for ever), follows the breaker bucket into `breakers` (retried every `retryMs` until a router has
 * created it), and publishes changes of state.
 */
export function startAlertNats(opts: {
  natsServers: string[];
  natsIdentity: NatsClientIdentity;
  breakers: BreakerTable;
  log: Logger;
  retryMs?: number;
}): AlertNats {
  const { log } = opts;
  let nc: NatsConnection | undefined;
  let closed = false;
  let dropped = 0;
  let store: BreakerStore | undefined;
  let watch: { close(): void } | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  const follow = async () => {
    const conn = await connectNats(opts.natsServers, `monitor-alerts-${process.pid}`, opts.natsIdentity, log);
    if (closed) return closeNats(conn);
    nc = conn;
    for (let failures = 0; !closed; failures++) {
      try {
        const followed = await followBreakers(conn, opts.breakers, log);
        [store, watch] = [followed.store, followed.watch];
        if (closed) watch.close();
        return;
      } catch (err) {
        if (failures === 0) log.info({ err, bucket: BREAKER_BUCKET }, "cannot follow the breakers yet; retrying");
        await new Promise((r) => (retryTimer = setTimeout(r, opts.retryMs ?? 5000)));
      }
    }
  };
  void follow().catch((err: unknown) => log.error({ err }, "the alert engine's NATS connection failed"));
  return {
    publish(changes) {
      if (changes.length === 0) return;
      if (!nc) {
        if (dropped++ === 0) log.warn({ changes: changes.length }, "NATS not reached yet: alert changes not published");
        return;
      }
      publishAlerts(nc, changes);
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      watch?.close();
      store?.close();
      if (nc) await closeNats(nc);
    },
  };
}

/** Opens the breaker bucket (made by the first router) and watches it into `breakers`. */
async function followBreakers(
  nc: NatsConnection,
  breakers: BreakerTable,
  log: Logger,
): Promise<{ store: BreakerStore; watch: { close(): void } }> {
  const store = await BreakerStore.open(nc);
  try {
    const watch = await store.watch(
      (t) => breakers.apply(t),
      (err) => log.warn({ err, bucket: BREAKER_BUCKET }, "ignoring an unreadable breaker transition"),
    );
    return { store, watch };
  } catch (err) {
    store.close();
    throw err;
  }
}
