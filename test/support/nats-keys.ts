import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "nats";
import { ensureMeshKeys, type MeshKeys } from "../../deploy/local/nats-identities.js";
import type { NatsRole } from "../../deploy/local/nats-permissions.js";
import { startNatsServer, type NatsServer } from "../../deploy/local/nats-server.js";
import { freePort } from "../../deploy/local/ports.js";
import {
  identityOptions,
  operatorSigner,
  parseTrustedOperators,
  type Signer,
  type TrustedOperators,
} from "../../services/lib/nats/index.js";
import { EnvReader, natsIdentity } from "../../services/lib/service/index.js";

export interface KeyedNats {
  server: NatsServer;
  keys: MeshKeys;
  trusted: TrustedOperators;
  /** The launcher's and the local operator's signing keys. */
  launcher: Signer;
  operator: Signer;
  /** A connection as one role's identity (fails fast: no reconnect wait). */
  connectAs(role: NatsRole): Promise<NatsConnection>;
}

/**
 * A real nats-server with the launcher's users and permissions (deploy/local/nats-identities.ts) on a free port,
 * its keys and data under `dir`: for tests that talk to NATS themselves.
 */
export async function startKeyedNats(dir: string, port?: number): Promise<KeyedNats> {
  const keys = ensureMeshKeys(dir);
  const server = await startNatsServer({
    port: port ?? (await freePort()),
    dir: join(dir, "nats"),
    configFile: keys.natsConfigFile,
  });
  return {
    server,
    keys,
    trusted: parseTrustedOperators(readFileSync(keys.trustedOperatorsFile, "utf8")),
    launcher: operatorSigner(readFileSync(keys.launcherOperatorKeyFile, "utf8")),
    operator: operatorSigner(readFileSync(keys.operatorKeyFile, "utf8")),
    connectAs: (role) =>
      connect({
        servers: server.url,
        name: `test-${role}`,
        ...identityOptions(natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: keys.seedFile[role] }))),
      }),
  };
}
