import { DEFAULT_PORTS } from "../local/mesh.js";
import { NATS_ROLES, type NatsRole } from "../local/nats-permissions.js";
import { auditEnvOf, MESH, MOUNTS, type ServiceName, type ServiceSpec } from "../k8s/mesh-spec.js";
import { BOOTSTRAP_ARGS } from "../k8s/bootstrap-job.js";

/**
 * The mesh on one laptop with Docker Compose, from the same service specs as the Kubernetes manifests
 * (deploy/k8s/mesh-spec.ts): nats, the five services, Jaeger (OTLP traces), Prometheus (every service's metrics)
 * and Grafana (Prometheus as its data source); routers and validators keep the audit trail as on Kubernetes (a
 * spool volume each, their role's signing key, the stream created first by a one-shot `bootstrap`). Paths are
 * relative to deploy/compose/, where compose.yaml lives; `npm run compose:prepare` writes the development secrets
 * the services mount under ./state/mounted/.
 */

/** The image every scoremesh service runs: built from deploy/image/Dockerfile by `docker compose build`. */
export const IMAGE = "scoremesh:local";
/** Where compose:prepare puts the files the containers mount (relative to deploy/compose/). */
export const MOUNTED = "./state/mounted";
const JAEGER_OTLP = "http://jaeger:4318";

/** When a service may start after one it depends on (the Compose Specification's long `depends_on` syntax). */
export type DependsOn = Record<
  string,
  { condition: "service_started" | "service_healthy" | "service_completed_successfully" }
>;

/** A compose service, as much of the Compose Specification as this file uses. */
export interface ComposeService {
  image: string;
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  tmpfs?: string[];
  depends_on?: DependsOn;
  stop_grace_period?: string;
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number; start_period: string };
  read_only?: boolean;
  restart?: string;
}

/** The host path of a file a service mounts, under MOUNTED (what compose:prepare writes there). */
export function mountedFile(
  kind: "tls" | "nats" | "operators" | "audit" | "rollout",
  svc: Mounter,
  name: string,
): string {
  return kind === "operators" ? `${MOUNTED}/operators.json` : `${MOUNTED}/${svc}/${kind}/${name}`;
}

/** The one-shot service that runs `meshctl bootstrap` as the control identity before the services start. */
export const BOOTSTRAP = "bootstrap";

/** Who mounts prepared files: a mesh service, or the one-shot bootstrap (the control identity's seed). */
export type Mounter = ServiceName | typeof BOOTSTRAP;

/**
 * The named volume of a service's audit spool. One per service, not per replica (Compose has no per-replica
 * volumes): routers and validators run one replica each here; their fixed published ports keep a second
 * (`--scale router=2`) from starting, and with it from sharing the spool (docs/deploy.md).
 */
export const spoolVolume = (svc: ServiceName) => `${svc}-audit-spool`;

/** The NATS role of a service (the feature service has none). */
export const roleOf = (svc: ServiceName): NatsRole | undefined =>
  (NATS_ROLES as readonly string[]).includes(svc) ? (svc as NatsRole) : undefined;

/** A Kubernetes-spec environment for Compose: Docker's DNS names every replica of a service by its name. */
function composeEnv(spec: ServiceSpec): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.env)) env[k] = v.replace(/^dns:\/\/\/([a-z-]+)-headless:/, "dns:///$1:");
  if (env["NATS_REPLICAS"]) env["NATS_REPLICAS"] = "1";
  env["OTEL_EXPORTER_OTLP_ENDPOINT"] = JAEGER_OTLP;
  return env;
}

/**
 * The files a service mounts read-only (its certificate, its role's NATS seed, the trusted operators, its role's
 * audit signing key, the monitor's rollout operator key) and, for routers and validators, the audit spool's named volume (writable: the image makes
 * the folder the volume starts from, owned by its user).
 */
function volumesOf(spec: ServiceSpec): string[] {
  const v = [
    `${mountedFile("tls", spec.name, "ca.crt")}:${MOUNTS.tls}/ca.crt:ro`,
    `${mountedFile("tls", spec.name, "tls.crt")}:${MOUNTS.tls}/tls.crt:ro`,
    `${mountedFile("tls", spec.name, "tls.key")}:${MOUNTS.tls}/tls.key:ro`,
  ];
  if (spec.nats) v.push(`${mountedFile("nats", spec.name, "seed.nk")}:${MOUNTS.nats}/seed.nk:ro`);
  if (spec.operators) v.push(`${mountedFile("operators", spec.name, "")}:${MOUNTS.operators}/operators.json:ro`);
  if (spec.audit) {
    v.push(`${mountedFile("audit", spec.name, "signing-key.pem")}:${MOUNTS.audit}/signing-key.pem:ro`);
    v.push(`${spoolVolume(spec.name)}:${MOUNTS.spool}`);
  }
  if (spec.name === "monitor") v.push(`${mountedFile("rollout", spec.name, "operator.nk")}:${ROLLOUT_KEY}:ro`);
  return v;
}

/**
 * The monitor's rollout controller (docs/rollouts.md#automated-rollouts): its operator key, trusted in
 * operators.json, as npm start gives it; without it `meshctl rollout` would start rollouts that nothing moves.
 */
export const ROLLOUT_KEY = "/etc/scoremesh/rollout/operator.nk";
/** The port a service's Prometheus metrics are on: its metrics listener, or the monitor's page. */
export const metricsPortOf = (spec: ServiceSpec): number =>
  (spec.ports.find((p) => p.name === "metrics") ?? spec.ports.find((p) => p.name === "http")!).port;

/**
 * The /metrics pages the monitor scrapes for the cost per 1,000 decisions (MONITOR_COST_TARGETS, as npm start sets
 * it): one per service, by name, right while each runs one replica (compose.scale.yaml turns it off).
 */
export const costTargets = (): string =>
  MESH.map((spec) => `http://${spec.name}:${metricsPortOf(spec)}/metrics`).join(",");

/** The monitor's additions: the rollout controller's key and the cost targets. */
const monitorEnv = (spec: ServiceSpec): Record<string, string> =>
  spec.name === "monitor"
    ? { MONITOR_ROLLOUT_OPERATOR_KEY_FILE: ROLLOUT_KEY, MONITOR_COST_TARGETS: costTargets() }
    : {};

/** Ports published on the laptop: the public edge, the monitor's page, and each service's gRPC port for meshctl. */
function publishedPorts(spec: ServiceSpec): string[] {
  const grpc = spec.ports.find((p) => p.name === "grpc")!.port;
  const extra = spec.ports.filter((p) => p.name === "http").map((p) => p.port);
  return [grpc, ...extra].map((p) => `127.0.0.1:${p}:${p}`);
}

/** Seconds between SIGTERM and SIGKILL (terminationGracePeriodSeconds on Kubernetes). */
export const STOP_GRACE_S = 30;

/** The same image for all five and the bootstrap (the layers are built once); the command picks the service. */
const BUILD = { context: "../..", dockerfile: "deploy/image/Dockerfile" };

/** A service with a NATS identity starts once NATS answers and the bootstrap made what it opens (buckets, stream). */
function dependsOn(spec: ServiceSpec): DependsOn {
  const started = { condition: "service_started" } as const;
  if (!spec.nats) return { jaeger: started };
  return {
    nats: { condition: "service_healthy" },
    [BOOTSTRAP]: { condition: "service_completed_successfully" },
    jaeger: started,
  };
}

/** The script compose's healthchecks run (tools/healthcheck): grpc.health.v1 on the plaintext health port. */
export const HEALTHCHECK_SCRIPT = "dist/tools/healthcheck/main.js";

/** SERVING on its health port (the readiness the kubelet probes on Kubernetes); a model load may take a while. */
function healthcheckOf(spec: ServiceSpec): ComposeService["healthcheck"] {
  return {
    test: ["CMD", "/nodejs/bin/node", HEALTHCHECK_SCRIPT, `127.0.0.1:${spec.health}`],
    interval: "10s",
    timeout: "5s",
    retries: 3,
    start_period: "60s",
  };
}

function meshService(spec: ServiceSpec): ComposeService {
  return {
    image: IMAGE,
    build: { ...BUILD },
    command: [`dist/services/${spec.name}/main.js`],
    environment: { ...composeEnv(spec), ...auditEnvOf(spec), ...monitorEnv(spec) },
    ports: publishedPorts(spec),
    volumes: volumesOf(spec),
    // The only writable place besides the spool: Node's and ONNX Runtime's temporary files (an emptyDir on Kubernetes).
    tmpfs: ["/tmp"],
    depends_on: dependsOn(spec),
    // SIGTERM drains calls in flight (<PREFIX>_DRAIN_TIMEOUT_MS, 10 s) and ships the audit spool's last round:
    // the pods' 30 s, not Docker's default 10 s before SIGKILL.
    stop_grace_period: `${STOP_GRACE_S}s`,
    healthcheck: healthcheckOf(spec),
    read_only: true,
    restart: "unless-stopped",
  };
}

/**
 * `meshctl bootstrap` as the control identity (the Kubernetes Job scoremesh-bootstrap): the audit stream, the
 * model store and the policy, tenant and rollout buckets, before any service that needs them starts. Idempotent;
 * it runs again at every `docker compose up`. Its seed is mounted here alone.
 */
function bootstrapService(): ComposeService {
  return {
    image: IMAGE,
    build: { ...BUILD },
    command: BOOTSTRAP_ARGS,
    environment: {
      NATS_URL: "nats://nats:4222",
      NATS_NKEY_SEED_FILE: `${MOUNTS.nats}/seed.nk`,
      NATS_REPLICAS: "1",
    },
    volumes: [`${mountedFile("nats", BOOTSTRAP, "seed.nk")}:${MOUNTS.nats}/seed.nk:ro`],
    depends_on: { nats: { condition: "service_healthy" } },
    read_only: true,
    restart: "no",
  };
}

/** nats-server's health (its monitoring listener, inside the container only): 200 once JetStream is ready. */
export const NATS_MONITOR_PORT = 8222;
const natsHealthcheck = {
  test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${NATS_MONITOR_PORT}/healthz`],
  interval: "2s",
  timeout: "2s",
  retries: 15,
  start_period: "5s",
};

/** The whole compose file. */
export function composeFile(): {
  name: string;
  services: Record<string, ComposeService>;
  volumes: Record<string, object>;
} {
  const services: Record<string, ComposeService> = {
    nats: {
      image: "nats:2.10-alpine",
      command: ["-c", "/etc/nats/nats.conf"],
      ports: [`127.0.0.1:${DEFAULT_PORTS.nats}:4222`],
      volumes: [`${MOUNTED}/nats.conf:/etc/nats/nats.conf:ro`, "nats-data:/data"],
      healthcheck: natsHealthcheck,
      restart: "unless-stopped",
    },
    [BOOTSTRAP]: bootstrapService(),
    jaeger: {
      image: "jaegertracing/all-in-one:1.62.0",
      environment: { COLLECTOR_OTLP_ENABLED: "true" },
      ports: ["127.0.0.1:16686:16686"],
    },
  };
  for (const spec of MESH) services[spec.name] = meshService(spec);
  services["prometheus"] = {
    image: "prom/prometheus:v3.0.1",
    command: ["--config.file=/etc/prometheus/prometheus.yml"],
    ports: ["127.0.0.1:9090:9090"],
    volumes: [
      "./prometheus.yml:/etc/prometheus/prometheus.yml:ro",
      // The alerting rules (deploy/prometheus/alerts.yaml, checked by promtool in CI).
      "../prometheus/alerts.yaml:/etc/prometheus/alerts.yaml:ro",
    ],
    depends_on: Object.fromEntries(MESH.map((s) => [s.name, { condition: "service_started" }])),
  };
  services["grafana"] = {
    image: "grafana/grafana:11.3.0",
    environment: { GF_AUTH_ANONYMOUS_ENABLED: "true", GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer" },
    ports: ["127.0.0.1:3000:3000"],
    volumes: [
      "./grafana/datasources.yaml:/etc/grafana/provisioning/datasources/scoremesh.yaml:ro",
      "./grafana/dashboards.yaml:/etc/grafana/provisioning/dashboards/scoremesh.yaml:ro",
      "../grafana/scoremesh.json:/var/lib/grafana/dashboards/scoremesh.json:ro",
    ],
    depends_on: { prometheus: { condition: "service_started" } },
  };
  const spools = MESH.filter((s) => s.audit).map((s): [string, object] => [spoolVolume(s.name), {}]);
  return { name: "scoremesh", services, volumes: { "nats-data": {}, ...Object.fromEntries(spools) } };
}

/** Where the compose Prometheus finds the alerting rules (mounted from deploy/prometheus/alerts.yaml). */
export const PROMETHEUS_RULES = "/etc/prometheus/alerts.yaml";

/** Prometheus: every replica of every service (Docker's DNS gives each one's address), the monitor's page too. */
export function prometheusConfig(): object {
  const scrape = MESH.map((spec) => ({
    job_name: spec.name,
    dns_sd_configs: [{ names: [spec.name], type: "A", port: metricsPortOf(spec), refresh_interval: "15s" }],
  }));
  return {
    global: { scrape_interval: "5s", evaluation_interval: "5s" },
    rule_files: [PROMETHEUS_RULES],
    scrape_configs: scrape,
  };
}

/** Grafana's dashboards provider: the mesh's dashboard (deploy/grafana/scoremesh.json), mounted in its folder. */
export function grafanaDashboards(): object {
  return {
    apiVersion: 1,
    providers: [{ name: "scoremesh", type: "file", options: { path: "/var/lib/grafana/dashboards" } }],
  };
}

/** Grafana's provisioned data source: the compose Prometheus. */
export function grafanaDatasources(): object {
  return {
    apiVersion: 1,
    datasources: [
      { name: "Prometheus", type: "prometheus", access: "proxy", url: "http://prometheus:9090", isDefault: true },
    ],
  };
}
