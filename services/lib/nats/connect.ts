import { connect, Events, type ConnectionOptions, type NatsConnection } from "nats";
import type { Logger } from "pino";
import { ed25519Signer } from "./ed25519.js";

/** A NATS identity as a client presents it: an nkey user seed (see natsIdentity in lib/service). */
export interface NatsClientIdentity {
  seed: Uint8Array;
  publicKey: string;
}

/**
 * The connection options that present `identity`: nats-server sends a nonce, the client signs it with the seed.
 * Replies come to an inbox of the identity's own (`_INBOX_<public key>`), the only one its permissions let it
 * subscribe to, so no identity can read the replies meant for another.
 */
export function identityOptions(
  identity: NatsClientIdentity,
): Pick<ConnectionOptions, "authenticator" | "inboxPrefix"> {
  // What nats' nkeyAuthenticator sends (the public key, the nonce's signature in base64), signed by node:crypto.
  const sign = ed25519Signer(identity.seed);
  const authenticator = (nonce?: string) => ({
    nkey: identity.publicKey,
    sig: nonce ? Buffer.from(sign(new TextEncoder().encode(nonce))).toString("base64") : "",
  });
  return { authenticator, inboxPrefix: inboxPrefixOf(identity.publicKey) };
}

/** The inbox prefix of an identity, as the server's permissions grant it. */
export function inboxPrefixOf(publicKey: string): string {
  return `_INBOX_${publicKey}`;
}

/**
 * Connects to NATS and keeps reconnecting for ever: a service that loses NATS keeps serving with the last
 * state it saw, and catches up when NATS is back. The first connection is also retried, so services may start
 * before NATS does.
 */
export async function connectNats(
  servers: string[],
  name: string,
  identity: NatsClientIdentity,
  log: Logger,
): Promise<NatsConnection> {
  const nc = await connect({
    servers,
    name,
    ...identityOptions(identity),
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
