import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { MESH_PATHS, type ServiceSpec } from "./mesh-spec.js";
import { labelsOf, selectorOf } from "./workloads.js";
import { BOOTSTRAP, bootstrapNetworkPolicyOf } from "./bootstrap-job.js";

/** Voluntary disruptions (node drains, upgrades) take at most one replica at a time of a service that has several. */
export function disruptionBudgetOf(spec: ServiceSpec): PodDisruptionBudget[] {
  if (spec.replicas.min < 2) return [];
  return [
    new PodDisruptionBudget({
      metadata: { name: spec.name, labels: labelsOf(spec.name) },
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorOf(spec.name) } },
    }),
  ];
}

/** Scales on CPU between the spec's bounds (services that can have replicas). */
export function autoscalerOf(spec: ServiceSpec): HorizontalPodAutoscaler[] {
  if (spec.replicas.max <= spec.replicas.min) return [];
  return [
    new HorizontalPodAutoscaler({
      metadata: { name: spec.name, labels: labelsOf(spec.name) },
      spec: {
        // Services with an audit spool run as StatefulSets (workloads.ts workloadOf).
        scaleTargetRef: { apiVersion: "apps/v1", kind: spec.audit ? "StatefulSet" : "Deployment", name: spec.name },
        minReplicas: spec.replicas.min,
        maxReplicas: spec.replicas.max,
        metrics: [
          { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
        ],
        // Scale in slowly: a replica that goes takes its batches' in-flight calls with it (they drain, but still).
        behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
      },
    }),
  ];
}

/**
 * Ingress to each service: only from the services that call it (MESH_PATHS), on that port; the edge and the
 * monitor's page from anywhere; the plaintext health port from anywhere (kubelet probes). Everything else in the
 * namespace is denied by `default-deny`.
 */
export function networkPoliciesOf(mesh: readonly ServiceSpec[]): NetworkPolicy[] {
  const policies = mesh.map((spec) => {
    const callers = MESH_PATHS.filter((p) => p.to === spec.name).map((p) => ({
      from: [{ podSelector: { matchLabels: selectorOf(p.from) } }],
      ports: [{ protocol: "TCP" as const, port: p.port }],
    }));
    const open = spec.name === "validator" || spec.name === "monitor" ? spec.ports : [];
    return new NetworkPolicy({
      metadata: { name: spec.name, labels: labelsOf(spec.name) },
      spec: {
        podSelector: { matchLabels: selectorOf(spec.name) },
        policyTypes: ["Ingress"],
        ingress: [
          ...callers,
          { ports: [...open, { port: spec.health }].map((p) => ({ protocol: "TCP" as const, port: p.port })) },
        ],
      },
    });
  });
  // The services with an identity, and the bootstrap Job (the control identity: the audit stream, the model store).
  const natsClients = [...mesh.filter((s) => s.nats).map((s) => s.name), BOOTSTRAP].map((name) => ({
    podSelector: { matchLabels: selectorOf(name) },
  }));
  const nats = new NetworkPolicy({
    metadata: { name: "nats-clients", labels: labelsOf("nats") },
    spec: {
      podSelector: { matchLabels: { "app.kubernetes.io/name": "nats" } },
      policyTypes: ["Ingress"],
      ingress: [
        { from: natsClients, ports: [{ protocol: "TCP" as const, port: 4222 }] },
        // The cluster's own routes between NATS nodes.
        {
          from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "nats" } } }],
          ports: [{ protocol: "TCP" as const, port: 6222 }],
        },
      ],
    },
  });
  const defaultDeny = new NetworkPolicy({
    metadata: { name: "default-deny", labels: { "app.kubernetes.io/part-of": "scoremesh" } },
    spec: { podSelector: {}, policyTypes: ["Ingress"] },
  });
  return [defaultDeny, ...policies, nats, bootstrapNetworkPolicyOf()];
}
