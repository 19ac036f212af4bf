import { CustomObject, field, isInt, isObject, isString, oneOf, ShapeError } from "./custom-resources.js";
import { NAMESPACE, type ServiceSpec } from "./mesh-spec.js";
import { labelsOf, selectorOf } from "./workloads.js";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";

/**
 * Where KEDA's Prometheus scaler reads the workers' metrics: a Prometheus in the cluster that scrapes each worker
 * pod's metrics port (9464) and labels series with their namespace (kube-prometheus: `prometheus-operated` in
 * `monitoring`). Change it here and re-render for another Prometheus.
 */
export const PROMETHEUS_URL = "http://prometheus-operated.monitoring.svc:9090";
/** The namespace that Prometheus runs in (the NetworkPolicy lets it scrape the workers). */
export const PROMETHEUS_NAMESPACE = "monitoring";

/** The worker's batcher (services/model-worker/server.ts) in the batching metrics (docs/metrics.md). */
const WORKER_SERIES = `{namespace="${NAMESPACE}",batcher="model-worker"}`;

/** Rows waiting per worker replica before another is added: one full batch (WORKER_MAX_BATCH_ROWS' default, 256). */
export const QUEUED_ROWS_PER_REPLICA = 256;
/** Batches running at once per replica before another is added (one ONNX Runtime thread per replica). */
export const IN_FLIGHT_PER_REPLICA = 2;

const TRIGGER_TYPES = ["prometheus", "cpu", "memory"] as const;

/**
 * A KEDA ScaledObject for the model workers: KEDA makes and owns the HorizontalPodAutoscaler (named after the
 * Deployment), scaling on the larger of the rows queued and the batches in flight across the workers (Prometheus,
 * AverageValue: per replica) and CPU. It replaces autoscalerOf's CPU HPA for the same Deployment: two HPAs on one
 * Deployment fight each other.
 */
export function workerScaledObjectOf(spec: ServiceSpec): CustomObject {
  const prometheus = (name: string, query: string, threshold: number) => ({
    type: "prometheus",
    name,
    metricType: "AverageValue",
    metadata: { serverAddress: PROMETHEUS_URL, query, threshold: String(threshold) },
  });
  return new CustomObject(
    "keda.sh/v1alpha1",
    "ScaledObject",
    { name: spec.name, labels: labelsOf(spec.name) },
    {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: spec.name },
      minReplicaCount: spec.replicas.min,
      maxReplicaCount: spec.replicas.max,
      pollingInterval: 15,
      cooldownPeriod: 300,
      advanced: {
        horizontalPodAutoscalerConfig: {
          name: spec.name,
          // Scale in slowly, as the CPU HPA does: a replica that goes drains its batches.
          behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
        },
      },
      triggers: [
        prometheus("queued-rows", `sum(scoremesh_batch_queue_rows${WORKER_SERIES})`, QUEUED_ROWS_PER_REPLICA),
        prometheus("batches-in-flight", `sum(scoremesh_batch_in_flight${WORKER_SERIES})`, IN_FLIGHT_PER_REPLICA),
        { type: "cpu", metricType: "Utilization", metadata: { value: "70" } },
      ],
    },
    checkScaledObject,
  );
}

/** The ScaledObject fields we set, as keda.sh/v1alpha1 publishes them (KEDA 2.x). */
export function checkScaledObject(s: Record<string, unknown>): void {
  field(s, "scaleTargetRef.name", isString, "the Deployment's name");
  const min = field(s, "minReplicaCount", isInt, "a count");
  const max = field(s, "maxReplicaCount", isInt, "a count");
  if (min > max) throw new ShapeError(`spec.minReplicaCount ${min} > maxReplicaCount ${max}`);
  const triggers = field(
    s,
    "triggers",
    (v): v is Record<string, unknown>[] => Array.isArray(v) && v.length > 0 && v.every(isObject),
    "triggers",
  );
  triggers.forEach((t, i) => {
    const at = `triggers[${i}]`;
    const type = field(t, "type", oneOf(...TRIGGER_TYPES), `${at}.type one of ${TRIGGER_TYPES.join(", ")}`);
    const meta = field(t, "metadata", isObject, `${at}.metadata`);
    // KEDA reads trigger metadata as strings only.
    for (const [k, v] of Object.entries(meta))
      if (typeof v !== "string")
        throw new ShapeError(`spec.${at}.metadata.${k}: KEDA takes strings, got ${JSON.stringify(v)}`);
    if (type === "prometheus")
      for (const k of ["serverAddress", "query", "threshold"]) field(meta, k, isString, `${at}.metadata.${k}`);
    if (type === "prometheus" && Number.isNaN(Number(meta["threshold"])))
      throw new ShapeError(`spec.${at}.metadata.threshold: not a number`);
    if (type !== "prometheus") {
      field(t, "metricType", oneOf("Utilization", "AverageValue"), `${at}.metricType`);
      field(meta, "value", isString, `${at}.metadata.value`);
    }
  });
}

/**
 * Lets Prometheus (its namespace) scrape the workers' metrics port: the namespace's `default-deny` would otherwise
 * keep the queue metrics the ScaledObject scales on from ever reaching it.
 */
export function workerMetricsPolicyOf(spec: ServiceSpec): NetworkPolicy {
  const metrics = spec.ports.find((p) => p.name === "metrics");
  if (!metrics) throw new ShapeError(`${spec.name} has no metrics port to scale on`);
  return new NetworkPolicy({
    metadata: { name: `${spec.name}-metrics`, labels: labelsOf(spec.name) },
    spec: {
      podSelector: { matchLabels: selectorOf(spec.name) },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": PROMETHEUS_NAMESPACE } } }],
          ports: [{ protocol: "TCP", port: metrics.port }],
        },
      ],
    },
  });
}
