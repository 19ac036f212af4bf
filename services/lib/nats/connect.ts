import { connect, Events, type NatsConnection } from "nats";
import type { Logger } from "pino";

/**
 * Connects to NATS and keeps reconnecting for ever: a service that loses NATS keeps serving with the last
 * state it saw, and catches up when NATS is back. The first connection is also retried, so services may start
 * before NATS does.
 */
export async function connectNats(servers: string[], name: string, log: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers,
    name,
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
  });
  log.info({ server: nc.getServer() }, "connected to NATS");
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === Events.Disconnect || s.type === Events.Reconnect || s.type === Events.Error) {
        log.warn({ nats: s.type, data: s.data }, "NATS connection status");
      }
    }
  })();
  return nc;
}

/**
 * Drains a connection (delivers what is in flight) but gives up after `timeoutMs`, e.g. when nats-server is
 * already gone at shutdown, and closes it either way.
 */
export async function closeNats(nc: NatsConnection, timeoutMs = 2000): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    nc.drain().catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}
