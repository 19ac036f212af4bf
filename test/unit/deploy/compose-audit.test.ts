import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import {
  BOOTSTRAP,
  composeFile,
  NATS_MONITOR_PORT,
  spoolVolume,
  type ComposeService,
} from "../../../deploy/compose/compose-spec.js";
import { prepareCompose } from "../../../deploy/compose/prepare.js";
import { COMPOSE_DIR } from "../../../deploy/compose/render.js";
import { BOOTSTRAP_ARGS } from "../../../deploy/k8s/bootstrap-job.js";
import { MESH, MOUNTS } from "../../../deploy/k8s/mesh-spec.js";
import { ensureDevAuditKey } from "../../../deploy/local/dev-audit-key.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { ensureMeshKeys } from "../../../deploy/local/nats-identities.js";
import { startNatsServer } from "../../../deploy/local/nats-server.js";
import { freePort } from "../../../deploy/local/ports.js";
import { AUDIT_STREAM, AUDIT_STREAM_SUBJECTS } from "../../../services/lib/audit/index.js";
import { MeshTarget } from "../../../tools/meshctl/target.js";

/**
 * The audit trail in compose, as on Kubernetes (docs/deploy.md): a spool volume per router and validator, their
 * role's signing key mounted read-only, the public keys in meshctl.env, and a one-shot bootstrap (meshctl
 * bootstrap as the control identity) that every service with a NATS identity waits for.
 */

/** One compose:prepare for the tests that read its files (a CA, certificates and keys take a second or two). */
const dir = mkdtempSync(join(tmpdir(), "compose-audit-"));
before(() => prepareCompose(dir));
after(() => rmSync(dir, { recursive: true, force: true }));

const volume = (svc: ComposeService, inside: string) =>
  svc.volumes!.map((v) => v.split(":")).find(([, at]) => at === inside);

/** The variables of a KEY=value file (meshctl.env). */
const envFile = (file: string) =>
  Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  ) as Record<string, string>;

test("routers and validators keep their spool on a named volume of their own, and nothing else mounts it", () => {
  const { services, volumes } = composeFile();
  const audited = MESH.filter((s) => s.audit);
  assert.deepEqual(audited.map((s) => s.name).sort(), ["router", "validator"]);
  for (const spec of audited) {
    const svc = services[spec.name]!;
    const dir = svc.environment![`${spec.prefix}_AUDIT_SPOOL_DIR`];
    assert.equal(dir, MOUNTS.spool, spec.name);
    const mount = volume(svc, dir);
    assert.deepEqual(mount, [spoolVolume(spec.name), MOUNTS.spool], `${spec.name}: a writable named volume`);
    assert.ok(spoolVolume(spec.name) in volumes, `${spoolVolume(spec.name)} is not declared`);
    for (const [name, other] of Object.entries(services))
      if (name !== spec.name)
        assert.ok(!other.volumes?.some((v) => v.startsWith(`${spoolVolume(spec.name)}:`)), `${name} mounts it`);
    // One volume per service, not per replica: a fixed published port keeps a second replica from starting.
    assert.ok(
      svc.ports!.some((p) => /^127\.0\.0\.1:(\d+):\1$/.test(p)),
      `${spec.name}: scaling would share the spool`,
    );
    assert.equal(svc.read_only, true);
    assert.deepEqual(svc.tmpfs, ["/tmp"]);
  }
});

test("each role's signing key is mounted read-only from compose:prepare, and meshctl.env's public keys verify it", () => {
  const { services } = composeFile();
  const keys = ensureDevAuditKey(join(dir, "state"));
  const meshctl = new MeshTarget(join(dir, "none"), envFile(join(dir, "state", "meshctl.env")));
  const publicKeys = { router: meshctl.auditPublicKeyFile(), validator: meshctl.auditEdgePublicKeyFile()! };
  const own = { router: keys.privateKeyFile, validator: keys.edge.privateKeyFile };
  for (const role of ["router", "validator"] as const) {
    const spec = MESH.find((s) => s.name === role)!;
    const file = services[role]!.environment![`${spec.prefix}_AUDIT_SIGNING_KEY_FILE`]!;
    const [host, , mode] = volume(services[role]!, file)!;
    assert.equal(mode, "ro", `${role}: the key is mounted read-only`);
    const mounted = readFileSync(join(dir, host!), "utf8");
    assert.equal(mounted, readFileSync(own[role], "utf8"), `${role}: its role's key`);
    const signature = sign(null, Buffer.from("checkpoint"), createPrivateKey(mounted));
    const other = role === "router" ? "validator" : "router";
    const pub = (r: "router" | "validator") => createPublicKey(readFileSync(publicKeys[r], "utf8"));
    assert.ok(verify(null, Buffer.from("checkpoint"), pub(role), signature), `${role}: meshctl verifies it`);
    // The edge's key cannot vouch for a router's chain, nor the routers' for the edge's.
    assert.ok(!verify(null, Buffer.from("checkpoint"), pub(other), signature), `${role}: signed with ${other}'s`);
  }
});

test("meshctl.env speaks to the compose edge as it serves: TLS when VALIDATOR_PUBLIC_TLS is on", () => {
  const env = envFile(join(dir, "state", "meshctl.env"));
  const edge = composeFile().services["validator"]!.environment!["VALIDATOR_PUBLIC_TLS"];
  assert.equal(edge, "on");
  assert.equal(env["VALIDATOR_PUBLIC_TLS"], edge, "meshctl score and status would speak plaintext to a TLS edge");
  assert.ok(new MeshTarget(join(dir, "none"), env).edgeCredentials()._isSecure());
});

test("the bootstrap runs meshctl bootstrap as control once NATS is healthy, and the services wait for it", () => {
  const { services } = composeFile();
  const bootstrap = services[BOOTSTRAP]!;
  assert.deepEqual(bootstrap.command, BOOTSTRAP_ARGS);
  assert.equal(bootstrap.read_only, true);
  assert.equal(bootstrap.restart, "no");
  assert.deepEqual(bootstrap.depends_on, { nats: { condition: "service_healthy" } });
  const nats = services["nats"]!;
  assert.ok(nats.healthcheck?.test.some((a) => a.includes(`127.0.0.1:${NATS_MONITOR_PORT}/healthz`)));
  for (const spec of MESH) {
    const deps = services[spec.name]!.depends_on!;
    if (!spec.nats) assert.ok(!(BOOTSTRAP in deps), spec.name);
    else {
      assert.deepEqual(deps[BOOTSTRAP], { condition: "service_completed_successfully" }, spec.name);
      assert.deepEqual(deps["nats"], { condition: "service_healthy" }, spec.name);
    }
  }
  // No service holds the control identity: the bootstrap's seed is its own.
  const seed = volume(bootstrap, bootstrap.environment!["NATS_NKEY_SEED_FILE"]!)!;
  assert.equal(seed[2], "ro");
  for (const [name, svc] of Object.entries(services))
    if (name !== BOOTSTRAP) assert.ok(!svc.volumes?.some((v) => v.startsWith(`${seed[0]}:`)), name);
});

test("the bootstrap's command, environment and seed create the stream on the nats-server compose configures", async (t) => {
  const nats = await (async () => {
    // The compose nats.conf (users, permissions, monitoring listener) on free ports, JetStream in a folder of the
    // test's own (startNatsServer names it; nats-server refuses a second store_dir).
    const [port, monitor] = [await freePort(), await freePort()];
    const text = readFileSync(join(dir, "state", "mounted", "nats.conf"), "utf8");
    const configFile = join(dir, "nats.conf");
    writeFileSync(configFile, text.replace("jetstream { store_dir: /data }\n", ""));
    assert.notEqual(readFileSync(configFile, "utf8"), text, "compose's nats.conf keeps JetStream on /data");
    return startNatsServer({ port, dir: join(dir, "nats"), configFile, extraArgs: ["-m", String(monitor)] });
  })();
  t.after(() => nats.stop());
  const bootstrap = composeFile().services[BOOTSTRAP]!;
  const [host] = volume(bootstrap, bootstrap.environment!["NATS_NKEY_SEED_FILE"]!)!;
  assert.equal(
    readFileSync(join(dir, host!), "utf8"),
    readFileSync(ensureMeshKeys(join(dir, "state")).seedFile.control, "utf8"),
  );
  const env = {
    ...bootstrap.environment,
    PATH: process.env["PATH"],
    NATS_URL: nats.url,
    NATS_NKEY_SEED_FILE: join(dir, host!),
  };
  const run = await promisify(execFile)(process.execPath, bootstrap.command, { cwd: PROJECT_ROOT, env });
  const done = JSON.parse(run.stdout) as { auditStream: { name: string; replicas: number; subjects: string[] } };
  assert.deepEqual(done.auditStream, { name: AUDIT_STREAM, replicas: 1, subjects: AUDIT_STREAM_SUBJECTS });
});

test("the secrets compose:prepare writes stay out of the image's build context (.dockerignore) and out of git", () => {
  const state = relative(PROJECT_ROOT, join(COMPOSE_DIR, "state"));
  const lines = (file: string) =>
    readFileSync(join(PROJECT_ROOT, file), "utf8")
      .split("\n")
      .map((l) => l.trim().replace(/\/$/, ""));
  // `docker compose up --build` sends the repository as the context, and the build stage copies deploy/.
  assert.ok(lines(".dockerignore").includes(state), `.dockerignore does not list ${state}`);
  assert.ok(lines(".gitignore").includes(state), `.gitignore does not list ${state}`);
  // Everything prepared lies under it.
  for (const f of prepareCompose(dir))
    assert.ok(!relative(join(dir, "state"), f).startsWith(".."), `${f} is outside the state folder`);
});
