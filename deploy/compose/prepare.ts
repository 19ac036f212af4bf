import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DEFAULT_PORTS } from "../local/mesh.js";
import { ensureDevAuditKey } from "../local/dev-audit-key.js";
import { ensureDevCerts } from "../local/dev-certs.js";
import { controlEnv, ensureMeshKeys, natsServerConfig } from "../local/nats-identities.js";
import { MESH, serviceSpec } from "../k8s/mesh-spec.js";
import { BOOTSTRAP, mountedFile, MOUNTED, NATS_MONITOR_PORT, roleOf } from "./compose-spec.js";
import { COMPOSE_DIR } from "./render.js";

/**
 * npm run compose:prepare: the development secrets of the compose mesh under deploy/compose/state/ (git-ignored),
 * made like npm start's (a development CA and a certificate per service naming it, an nkey per NATS role, the
 * operators' keys, the routers' and the edge's audit signing keys), then copied where compose.yaml mounts them. The copies are world-readable (0644): the
 * containers run as the image's non-root user, not as you. Fine on a laptop; a cluster mounts real secrets.
 * Also writes state/meshctl.env: what meshctl needs to reach the compose mesh from the laptop (and the audit
 * trail's public keys, for `meshctl audit verify`).
 */
export function prepareCompose(composeDir = COMPOSE_DIR, stateDir = join(composeDir, "state")): string[] {
  const certs = ensureDevCerts(
    join(stateDir, "tls"),
    MESH.map((s) => s.name),
  );
  const keys = ensureMeshKeys(stateDir);
  const audit = ensureDevAuditKey(stateDir);
  const written: string[] = [];
  const place = (from: string, to: string) => {
    const file = join(composeDir, to);
    mkdirSync(dirname(file), { recursive: true });
    copyFileSync(from, file);
    chmodSync(file, 0o644);
    written.push(file);
  };
  for (const spec of MESH) {
    place(certs.ca, mountedFile("tls", spec.name, "ca.crt"));
    place(certs.services[spec.name]!.cert, mountedFile("tls", spec.name, "tls.crt"));
    place(certs.services[spec.name]!.key, mountedFile("tls", spec.name, "tls.key"));
    const role = roleOf(spec.name);
    if (spec.nats && role) place(keys.seedFile[role], mountedFile("nats", spec.name, "seed.nk"));
  }
  place(keys.trustedOperatorsFile, mountedFile("operators", "validator", ""));
  // The routers' key and the edge's own (validators): each mounted by its role alone, as on Kubernetes.
  place(audit.privateKeyFile, mountedFile("audit", "router", "signing-key.pem"));
  place(audit.edge.privateKeyFile, mountedFile("audit", "validator", "signing-key.pem"));
  // The rollout controller's operator key (trusted in operators.json), the monitor's alone.
  place(keys.rolloutOperatorKeyFile, mountedFile("rollout", "monitor", "operator.nk"));
  // The control identity: the bootstrap's alone (no service mounts it).
  place(keys.seedFile.control, mountedFile("nats", BOOTSTRAP, "seed.nk"));
  const natsConf = join(composeDir, MOUNTED, "nats.conf");
  writeFileSync(natsConf, natsConfText(natsServerConfig(keys.publicKey)), { mode: 0o644 });
  written.push(natsConf, writeMeshctlEnv(stateDir, certs, keys, audit));
  return written;
}

/**
 * nats-server in the container: JetStream on its volume, the launcher's users and permissions, and the monitoring
 * listener on the container's loopback only (its healthcheck; never published).
 */
export function natsConfText(launcherConfig: string): string {
  const { authorization } = JSON.parse(launcherConfig.replace(/^#.*\n/gm, "")) as { authorization: unknown };
  return (
    `listen: 0.0.0.0:4222\nhttp: "127.0.0.1:${NATS_MONITOR_PORT}"\njetstream { store_dir: /data }\n` +
    `authorization: ${JSON.stringify(authorization, null, 2)}\n`
  );
}

/** The variables meshctl reads, pointing at the ports compose publishes on 127.0.0.1. */
function writeMeshctlEnv(
  stateDir: string,
  certs: ReturnType<typeof ensureDevCerts>,
  keys: ReturnType<typeof ensureMeshKeys>,
  audit: ReturnType<typeof ensureDevAuditKey>,
): string {
  const p = DEFAULT_PORTS;
  const env: Record<string, string> = {
    VALIDATOR_GRPC_ADDR: `127.0.0.1:${p.validatorGrpc}`,
    // The compose edge serves TLS (its VALIDATOR_PUBLIC_TLS): meshctl score and status speak it to 127.0.0.1.
    VALIDATOR_PUBLIC_TLS: serviceSpec("validator").env["VALIDATOR_PUBLIC_TLS"] ?? "off",
    FEATURE_ADDR: `127.0.0.1:${p.feature}`,
    ROUTER_ADDR: `127.0.0.1:${p.router}`,
    WORKER_ADDR: `127.0.0.1:${p.worker}`,
    MONITOR_ADDR: `127.0.0.1:${p.monitor}`,
    NATS_URL: `nats://127.0.0.1:${p.nats}`,
    MODEL_REPOSITORY: "models",
    TLS_MODE: "mtls",
    TLS_CA_FILE: certs.ca,
    TLS_CERT_FILE: certs.client.cert,
    TLS_KEY_FILE: certs.client.key,
    SCOREMESH_TRUSTED_OPERATORS_FILE: keys.trustedOperatorsFile,
    SCOREMESH_AUDIT_PUBLIC_KEY_FILE: audit.publicKeyFile,
    SCOREMESH_AUDIT_EDGE_PUBLIC_KEY_FILE: audit.edge.publicKeyFile,
    ...controlEnv(keys),
  };
  const file = join(stateDir, "meshctl.env");
  writeFileSync(
    file,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
    { mode: 0o600 },
  );
  return file;
}

if (process.argv[1]?.endsWith("compose/prepare.js")) {
  for (const f of prepareCompose()) console.log(`wrote ${f}`);
  console.log("next: docker compose -f deploy/compose/compose.yaml up -d --build (see docs/deploy.md)");
}
