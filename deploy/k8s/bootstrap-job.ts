import { Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { APP_DIR, MOUNTS } from "./mesh-spec.js";
import { labelsOf, selectorOf } from "./workloads.js";

/**
 * The Job that creates what only the control identity may and the services need (the audit stream SCOREMESH_AUDIT,
 * the model store, the policy, tenant and rollout buckets).
 */
export const BOOTSTRAP = "scoremesh-bootstrap";
/** The control identity's NATS seed (`seed.nk`): the Job's alone; no service mounts it. */
export const CONTROL_SECRET = "scoremesh-nats-control";
/** Its command: meshctl's, which the image carries (dist/tools). */
export const BOOTSTRAP_ARGS = ["dist/tools/meshctl/main.js", "bootstrap", "--json"];

/**
 * `meshctl bootstrap` as the control identity, with NATS_REPLICAS=3 (the stream on every node of the cluster).
 * Idempotent; it retries while NATS is not up yet, and goes 10 minutes after it succeeds, so that the next
 * `kubectl apply` (an upgrade) runs it again (a stream of an older build gets the subjects it lacks). Routers and
 * validators need not wait for it: until the stream exists their records stay in their spools (and a service that
 * finds no bucket to read exits, and its container restarts, until the Job has run).
 */
export function bootstrapJobOf(image: string): Job {
  return new Job({
    metadata: { name: BOOTSTRAP, labels: labelsOf(BOOTSTRAP) },
    spec: {
      backoffLimit: 12,
      ttlSecondsAfterFinished: 600,
      template: {
        metadata: { labels: labelsOf(BOOTSTRAP) },
        spec: {
          restartPolicy: "OnFailure",
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 },
          containers: [
            {
              name: "bootstrap",
              image,
              args: BOOTSTRAP_ARGS,
              workingDir: APP_DIR,
              env: [
                { name: "NATS_URL", value: "nats://nats:4222" },
                { name: "NATS_NKEY_SEED_FILE", value: `${MOUNTS.nats}/seed.nk` },
                { name: "NATS_REPLICAS", value: "3" },
              ],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              volumeMounts: [{ name: "nats", mountPath: MOUNTS.nats, readOnly: true }],
            },
          ],
          volumes: [{ name: "nats", secret: { secretName: CONTROL_SECRET, defaultMode: 0o440 } }],
        },
      },
    },
  });
}

/** The Job talks to NATS and nothing else (and to the cluster DNS to find it); nothing talks to it. */
export function bootstrapNetworkPolicyOf(): NetworkPolicy {
  return new NetworkPolicy({
    metadata: { name: BOOTSTRAP, labels: labelsOf(BOOTSTRAP) },
    spec: {
      podSelector: { matchLabels: selectorOf(BOOTSTRAP) },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [
        {
          to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "nats" } } }],
          ports: [{ protocol: "TCP", port: 4222 }],
        },
        {
          to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
          ports: [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
          ],
        },
      ],
    },
  });
}
