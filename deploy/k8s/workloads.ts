import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { Service } from "kubernetes-models/v1/Service";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { IVolumeMount } from "kubernetes-models/v1/VolumeMount";
import { APP_DIR, auditEnvOf, MOUNTS, type ServiceSpec } from "./mesh-spec.js";

/** Labels every object of the mesh carries; `app.kubernetes.io/name` tells the services apart. */
export const labelsOf = (svc: string) => ({ "app.kubernetes.io/name": svc, "app.kubernetes.io/part-of": "scoremesh" });
export const selectorOf = (svc: string) => ({ "app.kubernetes.io/name": svc });

/** Secret and config map names: the service's certificate, its role's NATS identity, the trusted operators. */
export const secretNames = (svc: string) => ({
  tls: `scoremesh-tls-${svc}`,
  nats: `scoremesh-nats-${svc}`,
  operators: "scoremesh-operators",
});

export interface ImageOptions {
  image: string;
}

/** The pod of a service: non-root, read-only root filesystem, no privilege escalation, gRPC probes. */
export function podTemplateOf(spec: ServiceSpec, image: string): IPodTemplateSpec {
  return {
    metadata: { labels: labelsOf(spec.name) },
    spec: {
      automountServiceAccountToken: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        fsGroup: 65532,
        ...(spec.audit ? { fsGroupChangePolicy: "OnRootMismatch" } : {}),
      },
      // SIGTERM drains in-flight calls (<PREFIX>_DRAIN_TIMEOUT_MS, 10 s by default); leave it room.
      terminationGracePeriodSeconds: 30,
      containers: [containerOf(spec, image)],
      volumes: volumesOf(spec),
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: "kubernetes.io/hostname",
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: { matchLabels: selectorOf(spec.name) },
        },
      ],
    },
  };
}

/** A stateless service's Deployment. */
export function deploymentOf(spec: ServiceSpec, { image }: ImageOptions): Deployment {
  return new Deployment({
    metadata: { name: spec.name, labels: labelsOf(spec.name) },
    spec: {
      replicas: spec.replicas.min,
      selector: { matchLabels: selectorOf(spec.name) },
      template: podTemplateOf(spec, image),
    },
  });
}

/**
 * A service with an audit trail: a StatefulSet, so that each pod has its own spool volume (volumeClaimTemplate)
 * that outlives the pod: a pod deleted or rescheduled with records not yet shipped gets the same volume back under
 * the same name, and its next process recovers and ships them (docs/deploy.md). The volumes are kept when the
 * StatefulSet scales in or is deleted. Pods start and stop in parallel (they share nothing but the Service).
 */
export function statefulSetOf(spec: ServiceSpec, { image }: ImageOptions): StatefulSet {
  return new StatefulSet({
    metadata: { name: spec.name, labels: labelsOf(spec.name) },
    spec: {
      serviceName: `${spec.name}-headless`,
      replicas: spec.replicas.min,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: selectorOf(spec.name) },
      template: podTemplateOf(spec, image),
      volumeClaimTemplates: [
        {
          metadata: { name: "audit-spool", labels: labelsOf(spec.name) },
          spec: {
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: spec.audit!.volumeSize } },
          },
        },
      ],
      persistentVolumeClaimRetentionPolicy: { whenScaled: "Retain", whenDeleted: "Retain" },
    },
  });
}

/** The workload of a service: a StatefulSet where it keeps an audit spool, else a Deployment. */
export function workloadOf(spec: ServiceSpec, options: ImageOptions): Deployment | StatefulSet {
  return spec.audit ? statefulSetOf(spec, options) : deploymentOf(spec, options);
}

function containerOf(spec: ServiceSpec, image: string): IContainer {
  // The kubelet's gRPC probes dial plaintext: they go to the health-only port, never the mutual-TLS one.
  const probe = { grpc: { port: spec.health, service: "" }, periodSeconds: 5, timeoutSeconds: 2 };
  return {
    name: spec.name,
    image,
    args: [`dist/services/${spec.name}/main.js`],
    workingDir: APP_DIR,
    ports: [
      ...spec.ports.map((p) => ({ name: p.name, containerPort: p.port })),
      { name: "health", containerPort: spec.health },
    ],
    env: Object.entries({ ...spec.env, ...auditEnvOf(spec) }).map(([name, value]) => ({ name, value })),
    readinessProbe: { ...probe, failureThreshold: 2 },
    livenessProbe: { ...probe, failureThreshold: 6, initialDelaySeconds: 10 },
    startupProbe: { ...probe, failureThreshold: 60 },
    resources: {
      requests: { cpu: spec.resources.cpu, memory: spec.resources.memory },
      limits: {
        memory: spec.resources.memoryLimit,
        ...(spec.resources.cpuLimit ? { cpu: spec.resources.cpuLimit } : {}),
      },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    volumeMounts: mountsOf(spec),
  };
}

function volumesOf(spec: ServiceSpec): IVolume[] {
  const names = secretNames(spec.name);
  return [
    { name: "tls", secret: { secretName: names.tls, defaultMode: 0o440 } },
    ...(spec.nats ? [{ name: "nats", secret: { secretName: names.nats, defaultMode: 0o440 } }] : []),
    ...(spec.operators ? [{ name: "operators", configMap: { name: names.operators } }] : []),
    ...(spec.audit ? [{ name: "audit-key", secret: { secretName: spec.audit.secret, defaultMode: 0o440 } }] : []),
    // The only writable place: Node's and ONNX Runtime's temporary files.
    { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
  ];
}

function mountsOf(spec: ServiceSpec): IVolumeMount[] {
  return [
    { name: "tls", mountPath: MOUNTS.tls, readOnly: true },
    ...(spec.nats ? [{ name: "nats", mountPath: MOUNTS.nats, readOnly: true }] : []),
    ...(spec.operators ? [{ name: "operators", mountPath: MOUNTS.operators, readOnly: true }] : []),
    ...(spec.audit
      ? [
          { name: "audit-key", mountPath: MOUNTS.audit, readOnly: true },
          { name: "audit-spool", mountPath: MOUNTS.spool },
        ]
      : []),
    { name: "tmp", mountPath: "/tmp" },
  ];
}

/** A ClusterIP Service for its ports, and a headless one (`<name>-headless`) where clients balance over replicas. */
export function servicesOf(spec: ServiceSpec): Service[] {
  const ports = spec.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, appProtocol: "grpc" }));
  for (const p of ports) if (p.name === "http" || p.name === "metrics") p.appProtocol = "http";
  const service = (name: string, clusterIP?: string) =>
    new Service({
      metadata: { name, labels: labelsOf(spec.name) },
      spec: { selector: selectorOf(spec.name), ports, ...(clusterIP ? { clusterIP } : {}) },
    });
  return [service(spec.name), ...(spec.headless ? [service(`${spec.name}-headless`, "None")] : [])];
}
