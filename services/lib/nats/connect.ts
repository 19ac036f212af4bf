import { connect, type NatsConnection } from "nats";
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
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error") {
        log.warn({ nats: s.type, data: String(s.data) }, "NATS connection status");
      }
    }
  })();
  return nc;
}
