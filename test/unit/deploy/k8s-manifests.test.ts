import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ensureDevCerts } from "../../../deploy/local/dev-certs.js";
import { ensureMeshKeys } from "../../../deploy/local/nats-identities.js";
import { ensureDevAuditKey } from "../../../deploy/local/dev-audit-key.js";
import { NATS_ROLES, type NatsRole } from "../../../deploy/local/nats-permissions.js";
import { APP_DIR, MESH, MOUNTS, type ServiceName } from "../../../deploy/k8s/mesh-spec.js";
import { BOOTSTRAP, BOOTSTRAP_ARGS, CONTROL_SECRET } from "../../../deploy/k8s/bootstrap-job.js";
import { OVERLAYS, renderObjects, renderYaml, renderedPath } from "../../../deploy/k8s/render.js";
import { EnvReader } from "../../../services/lib/service/index.js";
import { bucketReplicas, setBucketReplicas } from "../../../services/lib/nats/index.js";
import { MeshTarget } from "../../../tools/meshctl/target.js";
import { READ_CONFIG } from "../../support/service-configs.js";

interface Container {
  name: string;
  args: string[];
  env: { name: string; value: string }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: { grpc: { port: number } };
  livenessProbe: { grpc: { port: number } };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface PodSpec {
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string }; emptyDir?: object }[];
}

/** The kinds that run the services: Deployments, and StatefulSets where a service keeps an audit spool. */
const WORKLOAD = new Set(["Deployment", "StatefulSet"]);

/** The rendered YAML of an overlay, parsed back: what kubectl would apply. */
function applied(overlay: string): { kind: string; metadata: { name: string }; spec: Record<string, unknown> }[] {
  return parseAllDocuments(readFileSync(renderedPath(overlay as "base"), "utf8"), { version: "1.1" })
    .map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> })
    .filter(Boolean);
}

function workloadOf(overlay: string, svc: string) {
  const d = applied(overlay).find((o) => WORKLOAD.has(o.kind) && o.metadata.name === svc);
  assert.ok(d, `${overlay}: no Deployment or StatefulSet ${svc}`);
  return d;
}

function containerOf(overlay: string, svc: string): Container {
  return podOf(workloadOf(overlay, svc)).containers[0]!;
}

const podOf = (w: { spec: Record<string, unknown> }) => (w.spec["template"] as { spec: PodSpec }).spec;

/**
 * Real files where the manifests mount secrets: a certificate for the service, its role's NATS seed, the trusted
 * operators file; so that readConfig checks the manifest's environment as the service would at start-up.
 */
function mountedFiles(svc: ServiceName, dir: string): Map<string, string> {
  const certs = ensureDevCerts(join(dir, "tls"), [svc]);
  const keys = ensureMeshKeys(join(dir, "state"));
  const role = (NATS_ROLES as readonly string[]).includes(svc) ? (svc as NatsRole) : "control";
  const audit = ensureDevAuditKey(join(dir, "state"));
  return new Map([
    // The routers' key, and the edge's for validators (the same file name in either Secret).
    [`${MOUNTS.audit}/signing-key.pem`, svc === "validator" ? audit.edge.privateKeyFile : audit.privateKeyFile],
    [MOUNTS.spool, join(dir, "spool", svc)],
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
        let config: { audit?: unknown } = {};
        assert.doesNotThrow(
          () => (config = READ_CONFIG[spec.name](new EnvReader(recording)) as { audit?: unknown }),
          `${overlay} ${spec.name}`,
        );
        // Routers and validators start with their audit trail on (its spool and signing key read and checked).
        if (spec.audit) assert.ok(config.audit, `${overlay} ${spec.name}: no audit trail`);
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
  assert.equal(objects.filter((o) => WORKLOAD.has(o.kind)).length, MESH.length);
});

/** Bytes of a Kubernetes quantity in Ki/Mi/Gi/Ti. */
const bytesOf = (q: string) => Number(/^(\d+)/.exec(q)![1]) * 1024 ** ("KMGT".indexOf(q.match(/([KMGT])i$/)![1]!) + 1);

test("routers and validators spool on a volume of the pod's own and sign with a key from a mounted Secret", () => {
  const audited = MESH.filter((s) => s.audit).map((s) => s.name);
  assert.deepEqual(audited.sort(), ["router", "validator"]);
  for (const overlay of OVERLAYS) {
    const objects = applied(overlay);
    for (const spec of MESH.filter((s) => s.audit)) {
      const w = workloadOf(overlay, spec.name);
      assert.equal(w.kind, "StatefulSet", `${overlay} ${spec.name}`);
      const c = containerOf(overlay, spec.name);
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
      const mount = (path: string) => c.volumeMounts.find((m) => m.mountPath === path);
      // The spool: exactly the mount of a volumeClaimTemplate (a PersistentVolumeClaim per pod), writable.
      const spoolDir = env[`${spec.prefix}_AUDIT_SPOOL_DIR`]!;
      const spool = mount(spoolDir);
      assert.ok(spool, `${overlay} ${spec.name}: ${spoolDir} is not a mount (the root filesystem is read-only)`);
      assert.notEqual(spool.readOnly, true);
      const claims = w.spec["volumeClaimTemplates"] as { metadata: { name: string }; spec: Record<string, unknown> }[];
      const claim = claims.find((t) => t.metadata.name === spool.name);
      assert.ok(claim, `${overlay} ${spec.name}: the spool volume ${spool.name} is not a volumeClaimTemplate`);
      assert.ok(!podOf(w).volumes.some((v) => v.name === spool.name), "a pod volume shadows the claim");
      const size = (claim.spec["resources"] as { requests: { storage: string } }).requests.storage;
      const cap = Number(env[`${spec.prefix}_AUDIT_SPOOL_MAX_BYTES`]);
      assert.ok(bytesOf(size) > cap, `${spec.name}: a ${size} volume for a spool of up to ${cap} bytes`);
      // The key: a file in a read-only mount of the role's Secret.
      const keyFile = env[`${spec.prefix}_AUDIT_SIGNING_KEY_FILE`]!;
      const keyMount = mount(dirname(keyFile));
      assert.ok(keyMount?.readOnly, `${overlay} ${spec.name}: ${keyFile} is not in a read-only mount`);
      const secret = podOf(w).volumes.find((v) => v.name === keyMount.name)?.secret?.secretName;
      assert.equal(secret, spec.audit!.secret, `${overlay} ${spec.name}: the key's volume`);
      // The autoscaler and the disruption budget follow the StatefulSet.
      const hpa = objects.find((o) => o.kind === "HorizontalPodAutoscaler" && o.metadata.name === spec.name);
      assert.equal((hpa?.spec["scaleTargetRef"] as { kind: string }).kind, "StatefulSet");
      assert.ok(objects.some((o) => o.kind === "PodDisruptionBudget" && o.metadata.name === spec.name));
      assert.ok(objects.some((o) => o.kind === "Service" && o.metadata.name === w.spec["serviceName"]));
    }
  }
  // Routers and the edge sign with different keys: the edge's cannot vouch for a router's chain.
  assert.notEqual(
    MESH.find((s) => s.name === "router")!.audit!.secret,
    MESH.find((s) => s.name === "validator")!.audit!.secret,
  );
});

test("the bootstrap Job creates the audit stream as the control identity with R3, and reaches NATS only", () => {
  const dir = mkdtempSync(join(tmpdir(), "k8s-bootstrap-"));
  try {
    for (const overlay of OVERLAYS) {
      const objects = applied(overlay);
      const job = objects.find((o) => o.kind === "Job" && o.metadata.name === BOOTSTRAP);
      assert.ok(job, `${overlay}: no Job ${BOOTSTRAP}`);
      assert.ok(objects.indexOf(job) < objects.findIndex((o) => WORKLOAD.has(o.kind)), "the Job comes first");
      const pod = podOf(job);
      const c = pod.containers[0]!;
      assert.deepEqual(c.args, BOOTSTRAP_ARGS);
      assert.ok(existsSync(join(process.cwd(), c.args[0]!)), `${c.args[0]} is not built`);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
      assert.equal(env["NATS_REPLICAS"], "3");
      const seedMount = c.volumeMounts.find((m) => m.mountPath === dirname(env["NATS_NKEY_SEED_FILE"]!));
      assert.equal(pod.volumes.find((v) => v.name === seedMount?.name)?.secret?.secretName, CONTROL_SECRET);
      // No service holds the control identity.
      for (const w of objects.filter((o) => WORKLOAD.has(o.kind)))
        assert.ok(!podOf(w).volumes.some((v) => v.secret?.secretName === CONTROL_SECRET), w.metadata.name);
      // meshctl reads the Job's environment: the control seed, the servers and 3 replicas for what it creates.
      const seed = ensureMeshKeys(join(dir, "state")).seedFile.control;
      const target = new MeshTarget(join(dir, "none"), { ...env, NATS_NKEY_SEED_FILE: seed });
      assert.deepEqual(target.nats(), ["nats://nats:4222"]);
      assert.equal(bucketReplicas(), 3);
      setBucketReplicas(1);
      assert.ok(target.natsIdentity());
      // Network: out to NATS's client port and the cluster DNS only; NATS lets it in.
      const policy = objects.find((o) => o.kind === "NetworkPolicy" && o.metadata.name === BOOTSTRAP)!;
      const egress = policy.spec["egress"] as { to: { podSelector: { matchLabels: object } }[]; ports: object[] }[];
      assert.deepEqual(
        egress.map((e) => [e.to[0]!.podSelector.matchLabels, e.ports]),
        [
          [{ "app.kubernetes.io/name": "nats" }, [{ protocol: "TCP", port: 4222 }]],
          [
            { "k8s-app": "kube-dns" },
            [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          ],
        ],
      );
      const nats = objects.find((o) => o.kind === "NetworkPolicy" && o.metadata.name === "nats-clients")!;
      const clients = (nats.spec["ingress"] as { from: { podSelector: { matchLabels: object } }[] }[])[0]!.from;
      assert.ok(clients.some((f) => JSON.stringify(f.podSelector.matchLabels).includes(BOOTSTRAP)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
