import { DEFAULT_PORTS } from "../local/mesh.js";

/**
 * What Kubernetes must know of each scoremesh service, in one place: its command, ports, environment, the
 * secrets it mounts and how it scales. The manifests (workloads.ts, policies.ts) are built from this, and the
 * manifest test checks it against what the services really read (each service's readConfig) and serve.
 */

/** The namespace the manifests are written for (certificate names, the Prometheus queries of the KEDA overlays). */
export const NAMESPACE = "scoremesh";

/** Where the image keeps the project (WORKDIR in deploy/image/Dockerfile). */
export const APP_DIR = "/app";
/** Mount points of the secrets and config maps every service gets. */
export const MOUNTS = {
  tls: "/etc/scoremesh/tls",
  nats: "/etc/scoremesh/nats",
  operators: "/etc/scoremesh/operators",
  /** The audit signing key of the role (routers' or the edge's), from its Secret. */
  audit: "/etc/scoremesh/audit",
  /** The audit spool: a volume of the pod's own (the root filesystem is read-only). */
  spool: "/var/lib/scoremesh/audit-spool",
} as const;

export type ServiceName = "validator" | "feature" | "router" | "model-worker" | "monitor";

export interface ServicePort {
  name: string;
  port: number;
}

export interface ServiceSpec {
  name: ServiceName;
  /** Prefix of its variables (VALIDATOR_, WORKER_, ...). */
  prefix: string;
  /** Its gRPC port (mutual TLS) and any other listener; `health` is the plaintext grpc.health.v1 port the kubelet dials. */
  ports: ServicePort[];
  health: number;
  env: Record<string, string>;
  /** It has a NATS identity (a role of deploy/local/nats-permissions.ts) and the trusted operators file. */
  nats: boolean;
  operators: boolean;
  /** Clients balance over its replicas themselves (a headless Service besides the ClusterIP one). */
  headless: boolean;
  replicas: { min: number; max: number };
  resources: { cpu: string; memory: string; cpuLimit?: string; memoryLimit: string };
  /** It writes an audit chain (routers; validators for the edge's rules decisions): a spool volume and a key. */
  audit?: AuditSpec;
}

/**
 * The audit trail of a service (docs/audit.md): <prefix>_AUDIT_SPOOL_DIR on a persistent volume of the pod's own
 * (a StatefulSet's volumeClaimTemplate, see docs/deploy.md), <prefix>_AUDIT_SIGNING_KEY_FILE from the role's Secret.
 */
export interface AuditSpec {
  prefix: "ROUTER" | "VALIDATOR";
  /** The Secret with the role's Ed25519 private key (PKCS#8 PEM) under `signing-key.pem`. */
  secret: string;
  /** The spool's cap (<prefix>_AUDIT_SPOOL_MAX_BYTES) and the volume that holds it (bigger: the chain files' slack). */
  spoolMaxBytes: number;
  volumeSize: string;
}

/** The audit variables of a service that has a trail (none for the others). */
export function auditEnvOf(spec: ServiceSpec): Record<string, string> {
  if (!spec.audit) return {};
  const p = spec.audit.prefix;
  return {
    [`${p}_AUDIT_SPOOL_DIR`]: MOUNTS.spool,
    [`${p}_AUDIT_SIGNING_KEY_FILE`]: `${MOUNTS.audit}/signing-key.pem`,
    [`${p}_AUDIT_SPOOL_MAX_BYTES`]: String(spec.audit.spoolMaxBytes),
  };
}

/** 2 GiB of unshipped records (the services' default) on a 4 GiB volume. */
const SPOOL = { spoolMaxBytes: 2 * 1024 ** 3, volumeSize: "4Gi" };

/** In-cluster address of a service's port (the namespace's DNS search path resolves the short name). */
export const addressOf = (svc: ServiceName, port: number) => `${svc}:${port}`;
/** A balanced target: every ready replica of the service, through its headless Service (grpc-js round_robin). */
export const replicasOf = (svc: ServiceName, port: number) => `dns:///${svc}-headless:${port}`;

/** The same ports as `npm start`, so that a client or a runbook knows one set. */
const PORTS = {
  ...DEFAULT_PORTS,
  /** Each service's plaintext Prometheus listener (<PREFIX>_METRICS_ADDR); the monitor serves /metrics on monitorHttp. */
  metrics: 9464,
} as const;
/** The metrics port of a service and the variable that opens it. */
const metricsPort: ServicePort = { name: "metrics", port: PORTS.metrics };
const metricsEnv = (prefix: string) => ({ [`${prefix}_METRICS_ADDR`]: `0.0.0.0:${PORTS.metrics}` });
/** Each service's plaintext health port: its gRPC port + 1. */
const healthOf = (port: number) => port + 1;

/** Variables every service gets: logs, mutual TLS from the mounted certificate, the baked-in model repository. */
function commonEnv(prefix: string, grpcPort: number): Record<string, string> {
  return {
    LOG_LEVEL: "info",
    TLS_MODE: "mtls",
    TLS_CA_FILE: `${MOUNTS.tls}/ca.crt`,
    TLS_CERT_FILE: `${MOUNTS.tls}/tls.crt`,
    TLS_KEY_FILE: `${MOUNTS.tls}/tls.key`,
    [`${prefix}_HEALTH_ADDR`]: `0.0.0.0:${healthOf(grpcPort)}`,
  };
}

/** NATS from the official chart's client Service; every bucket a service creates kept on the cluster's 3 nodes. */
const natsEnv = { NATS_URL: "nats://nats:4222", NATS_NKEY_SEED_FILE: `${MOUNTS.nats}/seed.nk`, NATS_REPLICAS: "3" };
const operatorsEnv = { SCOREMESH_TRUSTED_OPERATORS_FILE: `${MOUNTS.operators}/operators.json` };
const modelsEnv = { MODEL_REPOSITORY: `${APP_DIR}/models` };

export const MESH: readonly ServiceSpec[] = [
  {
    name: "validator",
    prefix: "VALIDATOR",
    ports: [{ name: "grpc", port: PORTS.validatorGrpc }, { name: "http", port: PORTS.validatorHttp }, metricsPort],
    health: healthOf(PORTS.validatorGrpc),
    env: {
      ...metricsEnv("VALIDATOR"),
      ...commonEnv("VALIDATOR", PORTS.validatorGrpc),
      ...modelsEnv,
      ...natsEnv,
      ...operatorsEnv,
      VALIDATOR_GRPC_ADDR: `0.0.0.0:${PORTS.validatorGrpc}`,
      VALIDATOR_HTTP_ADDR: `0.0.0.0:${PORTS.validatorHttp}`,
      VALIDATOR_FEATURE_ADDR: replicasOf("feature", PORTS.feature),
      VALIDATOR_MONITOR_ADDR: addressOf("monitor", PORTS.monitor),
      // Clients outside the cluster reach the edge over TLS with the validator's certificate.
      VALIDATOR_PUBLIC_TLS: "on",
    },
    nats: true,
    operators: true,
    // The StatefulSet's governing Service (pods get stable names, and with them their spool volumes).
    headless: true,
    replicas: { min: 2, max: 10 },
    resources: { cpu: "500m", memory: "256Mi", memoryLimit: "512Mi" },
    // The edge's rules-baseline decisions, signed with the edge's own key.
    audit: { prefix: "VALIDATOR", secret: "scoremesh-audit-edge-key", ...SPOOL },
  },
  {
    name: "feature",
    prefix: "FEATURE",
    ports: [{ name: "grpc", port: PORTS.feature }, metricsPort],
    health: healthOf(PORTS.feature),
    env: {
      ...metricsEnv("FEATURE"),
      ...commonEnv("FEATURE", PORTS.feature),
      ...modelsEnv,
      FEATURE_ADDR: `0.0.0.0:${PORTS.feature}`,
      FEATURE_ROUTER_ADDR: replicasOf("router", PORTS.router),
    },
    nats: false,
    operators: false,
    headless: true,
    replicas: { min: 2, max: 10 },
    resources: { cpu: "250m", memory: "192Mi", memoryLimit: "384Mi" },
  },
  {
    name: "router",
    prefix: "ROUTER",
    ports: [{ name: "grpc", port: PORTS.router }, metricsPort],
    health: healthOf(PORTS.router),
    env: {
      ...metricsEnv("ROUTER"),
      ...commonEnv("ROUTER", PORTS.router),
      ...modelsEnv,
      ...natsEnv,
      ...operatorsEnv,
      ROUTER_ADDR: `0.0.0.0:${PORTS.router}`,
      // One channel, health probe and breaker set per worker pod: the headless Service names every ready pod.
      ROUTER_WORKER_ADDRS: replicasOf("model-worker", PORTS.worker),
      ROUTER_MONITOR_ADDR: addressOf("monitor", PORTS.monitor),
    },
    nats: true,
    operators: true,
    headless: true,
    replicas: { min: 2, max: 10 },
    resources: { cpu: "500m", memory: "256Mi", memoryLimit: "512Mi" },
    audit: { prefix: "ROUTER", secret: "scoremesh-audit-router-key", ...SPOOL },
  },
  {
    name: "model-worker",
    prefix: "WORKER",
    ports: [{ name: "grpc", port: PORTS.worker }, metricsPort],
    health: healthOf(PORTS.worker),
    env: {
      ...metricsEnv("WORKER"),
      ...commonEnv("WORKER", PORTS.worker),
      ...modelsEnv,
      ...natsEnv,
      ...operatorsEnv,
      WORKER_ADDR: `0.0.0.0:${PORTS.worker}`,
      WORKER_EXECUTION_PROVIDERS: "cpu",
      // One ONNX Runtime thread per core the container asks for (resources.cpu below).
      WORKER_INTRA_OP_THREADS: "1",
    },
    nats: true,
    operators: true,
    headless: true,
    replicas: { min: 2, max: 20 },
    resources: { cpu: "1", memory: "512Mi", memoryLimit: "1Gi" },
  },
  {
    name: "monitor",
    prefix: "MONITOR",
    ports: [
      { name: "grpc", port: PORTS.monitor },
      { name: "http", port: PORTS.monitorHttp },
    ],
    health: healthOf(PORTS.monitor),
    env: {
      ...commonEnv("MONITOR", PORTS.monitor),
      ...modelsEnv,
      ...natsEnv,
      ...operatorsEnv,
      MONITOR_ADDR: `0.0.0.0:${PORTS.monitor}`,
      MONITOR_HTTP_ADDR: `0.0.0.0:${PORTS.monitorHttp}`,
    },
    nats: true,
    operators: true,
    headless: false,
    replicas: { min: 1, max: 1 },
    resources: { cpu: "250m", memory: "256Mi", memoryLimit: "512Mi" },
  },
];

/** Who calls whom inside the mesh, on which port: the NetworkPolicy allows exactly these (and the edge's clients). */
export const MESH_PATHS: readonly { from: ServiceName; to: ServiceName; port: number }[] = [
  { from: "validator", to: "feature", port: PORTS.feature },
  { from: "feature", to: "router", port: PORTS.router },
  { from: "router", to: "model-worker", port: PORTS.worker },
  { from: "router", to: "monitor", port: PORTS.monitor },
  { from: "validator", to: "monitor", port: PORTS.monitor },
];

export const serviceSpec = (name: ServiceName): ServiceSpec => MESH.find((s) => s.name === name)!;
