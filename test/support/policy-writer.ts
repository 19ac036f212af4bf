import { readFileSync } from "node:fs";
import { connect, type NatsConnection } from "nats";
import type { Mesh } from "../../deploy/local/mesh.js";
import { identityOptions, operatorSigner, parseTrustedOperators, PolicyStore } from "../../services/lib/nats/index.js";
import { EnvReader, natsIdentity } from "../../services/lib/service/index.js";

/**
 * The mesh's policy bucket as the control side sees it (the control identity, the launcher's operator key), for
 * tests that write what meshctl would refuse: a policy that names a version no worker can serve, a malformed
 * value (`nc`'s KV view of POLICY_BUCKET).
 */
export async function controlPolicies(mesh: Mesh): Promise<{ store: PolicyStore; nc: NatsConnection }> {
  const keys = mesh.keys;
  const identity = natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: keys.seedFile.control }));
  const nc = await connect({ servers: mesh.natsUrl, ...identityOptions(identity) });
  const store = await PolicyStore.open(nc, {
    trusted: parseTrustedOperators(readFileSync(keys.trustedOperatorsFile, "utf8")),
    signer: operatorSigner(readFileSync(keys.launcherOperatorKeyFile, "utf8")),
  });
  return { store, nc };
}
