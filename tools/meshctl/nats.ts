import { connect, type NatsConnection } from "nats";
import { identityOptions } from "../../services/lib/nats/index.js";
import { CliError } from "./output.js";
import type { MeshTarget } from "./target.js";

/**
 * Runs `fn` with a NATS connection as the control identity; fails with a clear message when NATS cannot be
 * reached or refuses.
 */
export async function withNats<T>(target: MeshTarget, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const servers = target.nats();
  const identity = target.natsIdentity();
  const nc = await connect({ servers, timeout: 3000, name: "meshctl", ...identityOptions(identity) }).catch(
    (err: Error) => {
      throw new CliError(`cannot reach NATS at ${servers.join(",")}: ${err.message}`);
    },
  );
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}
