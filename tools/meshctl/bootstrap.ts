import { AUDIT_STREAM, ensureAuditStream } from "../../services/lib/audit/index.js";
import {
  ModelStore,
  MODEL_BUCKET,
  POLICY_BUCKET,
  PolicyStore,
  ROLLOUT_BUCKET,
  RolloutStore,
  TENANT_BUCKET,
  TenantStore,
} from "../../services/lib/nats/index.js";
import { withNats } from "./nats.js";
import { printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/** What `meshctl bootstrap` found or made. */
export interface BootstrapResult {
  auditStream: { name: string; replicas: number; subjects: string[] };
  modelStore: string;
  /** The KV buckets control creates and the services only read (with their own options, in their stores). */
  buckets: string[];
}

/**
 * `meshctl bootstrap`: what only the control identity may create and the services need before they start (npm start's
 * launcher does it locally, deploy/local/control-bootstrap.ts): the audit stream SCOREMESH_AUDIT (NATS_REPLICAS
 * copies; a stream of an older build gets the subjects it lacks), the model store, and the policy, tenant and
 * rollout buckets (empty; routers, workers and validators may read them, not create them). Idempotent: run by the Kubernetes Job `scoremesh-bootstrap` at every apply, or by
 * hand. Serving policies need an operator's signature: `meshctl seed-policies` (a person's key, not a Job's).
 */
export async function bootstrapMesh(target: MeshTarget): Promise<BootstrapResult> {
  return withNats(target, async (nc) => {
    const jsm = await nc.jetstreamManager();
    await ensureAuditStream(jsm);
    await ModelStore.open(nc, { create: true });
    // Opening a store creates its bucket; nothing is read or written, so no operator is trusted here.
    const none = { trusted: new Map<string, string>() };
    await PolicyStore.open(nc, none);
    await TenantStore.open(nc, none);
    await RolloutStore.open(nc);
    const { config } = await jsm.streams.info(AUDIT_STREAM);
    return {
      auditStream: { name: AUDIT_STREAM, replicas: config.num_replicas, subjects: config.subjects ?? [] },
      modelStore: MODEL_BUCKET,
      buckets: [POLICY_BUCKET, TENANT_BUCKET, ROLLOUT_BUCKET],
    };
  });
}

export async function bootstrap(target: MeshTarget, out: Output): Promise<void> {
  const done = await bootstrapMesh(target);
  if (out.json) printJson(done);
  else
    console.log(
      `audit stream ${done.auditStream.name}: ${done.auditStream.replicas} replica(s), ` +
        `${done.auditStream.subjects.length} subjects; model store ${done.modelStore} and buckets ` +
        `${done.buckets.join(", ")} ready`,
    );
}
