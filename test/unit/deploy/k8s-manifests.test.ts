import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ensureDevCerts } from "../../../deploy/local/dev-certs.js";
import { ensureMeshKeys } from "../../../deploy/local/nats-identities.js";
import { NATS_ROLES, type NatsRole } from "../../../deploy/local/nats-permissions.js";
import { APP_DIR, MESH, MOUNTS, type ServiceName } from "../../../deploy/k8s/mesh-spec.js";
import { OVERLAYS, renderObjects, renderYaml, renderedPath } from "../../../deploy/k8s/render.js";
import { EnvReader } from "../../../services/lib/service/index.js";
import { READ_CONFIG } from "../../support/service-configs.js";

interface Container {
  name: string;
  args: string[];
  env: { name: string; value: string }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: { grpc: { port: number } };
  livenessProbe: { grpc: { port: number } };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  volumeMounts: { name: string; mountPath: string }[];
}

/** The rendered YAML of an overlay, parsed back: what kubectl would apply. */
function applied(overlay: string): { kind: string; metadata: { name: string }; spec: Record<string, unknown> }[] {
  return parseAllDocuments(readFileSync(renderedPath(overlay as "base"), "utf8"), { version: "1.1" })
    .map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> })
    .filter(Boolean);
}

function containerOf(overlay: string, svc: string): Container {
  const d = applied(overlay).find((o) => o.kind === "Deployment" && o.metadata.name === svc);
  assert.ok(d, `${overlay}: no Deployment ${svc}`);
  const pod = (d.spec["template"] as { spec: { containers: Container[] } }).spec;
  return pod.containers[0]!;
}

/**
 * Real files where the manifests mount secrets: a certificate for the service, its role's NATS seed, the trusted
 * operators file; so that readConfig checks the manifest's environment as the service would at start-up.
 */
function mountedFiles(svc: ServiceName, dir: string): Map<string, string> {
  const certs = ensureDevCerts(join(dir, "tls"), [svc]);
  const keys = ensureMeshKeys(join(dir, "state"));
  const role = (NATS_ROLES as readonly string[]).includes(svc) ? (svc as NatsRole) : "control";
  return new Map([
    [`${MOUNTS.tls}/ca.crt`, certs.ca],
    [`${MOUNTS.tls}/tls.crt`, certs.services[svc]!.cert],
    [`${MOUNTS.tls}/tls.key`, certs.services[svc]!.key],
    [`${MOUNTS.nats}/seed.nk`, keys.seedFile[role]],
    [`${MOUNTS.operators}/operators.json`, keys.trustedOperatorsFile],
    [`${APP_DIR}/models`, join(process.cwd(), "models")],
  ]);
}

test("every object of every overlay is valid against the Kubernetes schemas", () => {
  for (const overlay of OVERLAYS) {
    const objects = renderObjects(overlay);
    assert.ok(objects.length > 10, `${overlay}: ${objects.length} objects`);
    for (const o of objects) assert.doesNotThrow(() => o.validate(), `${overlay} ${o.kind} ${o.metadata?.name}`);
  }
});

test("the committed manifests are what deploy/k8s/render.ts renders now (npm run k8s:render)", () => {
  for (const overlay of OVERLAYS) assert.equal(readFileSync(renderedPath(overlay), "utf8"), renderYaml(overlay));
});

test("each service's manifest environment is exactly what its readConfig reads, and it starts with it", () => {
  const dir = mkdtempSync(join(tmpdir(), "k8s-config-"));
  try {
    for (const overlay of OVERLAYS) {
      for (const spec of MESH) {
        const c = containerOf(overlay, spec.name);
        const files = mountedFiles(spec.name, dir);
        const env = Object.fromEntries(c.env.map((e) => [e.name, files.get(e.value) ?? e.value]));
        const read = new Set<string>();
        const recording = new Proxy(env, {
          get: (target, name: string) => (read.add(name), target[name]),
        });
        assert.doesNotThrow(() => READ_CONFIG[spec.name](new EnvReader(recording)), `${overlay} ${spec.name}`);
        const unread = c.env.map((e) => e.name).filter((n) => !read.has(n) && n !== "LOG_LEVEL");
        assert.deepEqual(unread, [], `${overlay} ${spec.name}: variables its config never reads`);
        const mounted = new Set(c.volumeMounts.map((m) => m.mountPath));
        for (const e of c.env)
          for (const m of Object.values(MOUNTS))
            if (e.value.startsWith(`${m}/`))
              assert.ok(mounted.has(m), `${spec.name}: ${e.name} reads ${m}, not mounted`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("containers listen on the ports their manifests declare, probe the plaintext health port, and run locked down", () => {
  for (const overlay of OVERLAYS) {
    for (const spec of MESH) {
      const c = containerOf(overlay, spec.name);
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
      const listened = Object.entries(env)
        .filter(([n, v]) => /_(ADDR|GRPC_ADDR|HTTP_ADDR)$/.test(n) && v.startsWith("0.0.0.0:"))
        .map(([, v]) => Number(v.split(":")[1]))
        .sort();
      assert.deepEqual(listened, c.ports.map((p) => p.containerPort).sort(), `${spec.name}: listeners vs ports`);
      const health = Number(env[`${spec.prefix}_HEALTH_ADDR`]?.split(":")[1]);
      assert.equal(c.readinessProbe.grpc.port, health, `${spec.name}: readiness probe`);
      assert.equal(c.livenessProbe.grpc.port, health, `${spec.name}: liveness probe`);
      assert.equal(c.args[0], `dist/services/${spec.name}/main.js`);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    }
  }
});

test("peer addresses point at a Service that exposes that port", () => {
  const services = applied("base").filter((o) => o.kind === "Service");
  for (const spec of MESH) {
    const env = containerOf("base", spec.name).env.filter((e) => /_ADDRS?$/.test(e.name) && !e.value.startsWith("0."));
    for (const e of env) {
      const [host, port] = e.value.replace(/^dns:\/\/\//, "").split(":");
      const svc = services.find((s) => s.metadata.name === host);
      assert.ok(svc, `${spec.name} ${e.name}=${e.value}: no Service ${host}`);
      const ports = (svc.spec["ports"] as { port: number }[]).map((p) => p.port);
      assert.ok(ports.includes(Number(port)), `${e.name}=${e.value}: Service ${host} has ports ${ports.join(", ")}`);
    }
  }
});

test("the gpu overlay puts workers, and only them, on GPU nodes with the CUDA image and provider", () => {
  const objects = applied("gpu");
  const worker = containerOf("gpu", "model-worker") as Container & { image: string; resources: { limits: object } };
  assert.match(worker.image, /cuda/);
  assert.equal(worker.env.find((e) => e.name === "WORKER_EXECUTION_PROVIDERS")?.value, "cuda,cpu");
  assert.equal((worker.resources.limits as Record<string, unknown>)["nvidia.com/gpu"], 1);
  const router = containerOf("gpu", "router") as Container & { image: string };
  assert.doesNotMatch(router.image, /cuda/);
  assert.equal(objects.filter((o) => o.kind === "Deployment").length, MESH.length);
});
