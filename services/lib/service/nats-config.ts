import { ConfigError, type EnvReader } from "./config.js";

/** The variable that names the NATS servers, read by every service that uses NATS and by meshctl. */
export const NATS_URL = "NATS_URL";

/**
 * The NATS servers from NATS_URL: a comma-separated list of nats://host:port, required (no localhost default, so
 * a deployment that forgets it stops at start naming the variable).
 *
 * @example
 *   natsServers(new EnvReader({ NATS_URL: "nats://10.0.0.5:4222,nats://10.0.0.6:4222" }));
 */
export function natsServers(env: EnvReader): string[] {
  env.string(NATS_URL); // unset: "is required but not set"
  const list = env.list(NATS_URL);
  for (const url of list) {
    const m = /^nats:\/\/([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(url);
    if (!m || Number(m[2]) > 65535)
      throw new ConfigError(NATS_URL, `must be nats://host:port[,...], got ${JSON.stringify(url)}`);
  }
  return list;
}
