import {
  MODEL_BUCKET,
  POLICY_BUCKET,
  ROLLOUT_BUCKET,
  TENANT_BUCKET,
  USAGE_BUCKET,
  VALIDATOR_BUCKET,
  WORKER_BUCKET,
} from "../../services/lib/nats/index.js";
import { BREAKER_BUCKET } from "../../services/router/breakers/breaker-store.js";
import {
  AUDIT_CHECKPOINT_PREFIX,
  AUDIT_OUTCOME_PREFIX,
  AUDIT_RECORD_PREFIX,
  AUDIT_REVIEW_PREFIX,
  AUDIT_STREAM,
} from "../../services/lib/audit/index.js";
import { REVIEW_BUCKET } from "../../services/monitor/reviews/action-signing.js";
import { DECISION_BUCKET, OUTCOME_COUNT_BUCKET } from "../../services/monitor/outcomes/outcome-store.js";

/** The NATS identities of a mesh: one per role, shared by every replica of the role (not one per replica). */
export const NATS_ROLES = ["control", "router", "model-worker", "monitor", "validator"] as const;
export type NatsRole = (typeof NATS_ROLES)[number];

/** Tenants (control writes, validators read: TENANT_BUCKET) and the validators' usage counters and records. */
const USAGE_BUCKETS = [USAGE_BUCKET, VALIDATOR_BUCKET] as const;

/** What each role may do with each KV bucket: read (get, watch, list keys), write (put, delete; read too), create it. */
export interface BucketGrant {
  bucket: string;
  write: boolean;
  create: boolean;
  /** "kv" (the default) or "os": a JetStream object store (stream OBJ_<bucket>, subjects $O.<bucket>.>). */
  kind?: "kv" | "os";
}

/**
 * Least privilege per role. A bucket is created by the role that writes it (with the options in its own code),
 * except that the launcher creates the control buckets before any service starts, so readers find them.
 * The feature service does not use NATS and has no identity.
 */
export const ROLE_GRANTS: Record<NatsRole, BucketGrant[]> = {
  control: [
    { bucket: POLICY_BUCKET, write: true, create: true },
    { bucket: TENANT_BUCKET, write: true, create: true },
    { bucket: MODEL_BUCKET, write: true, create: true, kind: "os" },
    // meshctl records hand-made policy changes in the history and reads it (and the controller's status).
    { bucket: ROLLOUT_BUCKET, write: true, create: true },
    { bucket: WORKER_BUCKET, write: false, create: false },
    { bucket: BREAKER_BUCKET, write: false, create: false },
    ...USAGE_BUCKETS.map((bucket) => ({ bucket, write: false, create: false })),
  ],
  router: [
    { bucket: POLICY_BUCKET, write: false, create: false },
    { bucket: MODEL_BUCKET, write: false, create: false, kind: "os" },
    { bucket: BREAKER_BUCKET, write: true, create: true },
  ],
  "model-worker": [
    { bucket: POLICY_BUCKET, write: false, create: false },
    { bucket: MODEL_BUCKET, write: false, create: false, kind: "os" },
    { bucket: WORKER_BUCKET, write: true, create: true },
  ],
  monitor: [
    { bucket: WORKER_BUCKET, write: false, create: false },
    { bucket: REVIEW_BUCKET, write: true, create: true },
    { bucket: DECISION_BUCKET, write: true, create: true },
    { bucket: OUTCOME_COUNT_BUCKET, write: true, create: true },
    // The rollout controller: raises a canary's percent, promotes or rolls back (signed with its operator key),
    // holds its lease and writes the history.
    { bucket: POLICY_BUCKET, write: true, create: false },
    { bucket: ROLLOUT_BUCKET, write: true, create: true },
  ],
  validator: [
    { bucket: TENANT_BUCKET, write: false, create: false },
    ...USAGE_BUCKETS.map((bucket) => ({ bucket, write: true, create: true })),
  ],
};

/** nats-server permissions: the subjects a client may publish to and subscribe to (everything else is denied). */
export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
}

/**
 * The subjects behind a grant, as nats.js v2 uses them (../shared/docs/REFERENCES.md §1): reads are the stream
 * info, direct and message gets, ordered consumers for watches and key lists, and flow control; writes publish to
 * `$KV.<bucket>.>` (a put, delete or purge); creating is `$JS.API.STREAM.CREATE.KV_<bucket>`.
 */
export function grantSubjects(g: BucketGrant): string[] {
  const s = `${g.kind === "os" ? "OBJ" : "KV"}_${g.bucket}`;
  const read = [
    `$JS.API.STREAM.INFO.${s}`,
    `$JS.API.STREAM.MSG.GET.${s}`,
    `$JS.API.DIRECT.GET.${s}`,
    `$JS.API.DIRECT.GET.${s}.>`,
    `$JS.API.CONSUMER.CREATE.${s}`,
    `$JS.API.CONSUMER.CREATE.${s}.>`,
    `$JS.API.CONSUMER.INFO.${s}.>`,
    `$JS.API.CONSUMER.DELETE.${s}.>`,
    `$JS.FC.${s}.>`,
  ];
  // nats.js 2.x reads an object store (get, watch, list) through consumers that look the stream up by subject.
  if (g.kind === "os") read.push("$JS.API.STREAM.NAMES");
  // An object store put publishes chunks and meta to $O.<bucket>.> and purges a replaced object's old chunks.
  const write = g.kind === "os" ? [`$O.${g.bucket}.>`, `$JS.API.STREAM.PURGE.${s}`] : [`$KV.${g.bucket}.>`];
  return [...read, ...(g.write ? write : []), ...(g.create ? [`$JS.API.STREAM.CREATE.${s}`] : [])];
}

/**
 * Reading the audit stream (meshctl audit show / verify as the control identity): stream info, message gets and
 * ordered consumers (create, next, info, delete, flow control).
 */
export const AUDIT_READ_SUBJECTS = [
  `$JS.API.STREAM.INFO.${AUDIT_STREAM}`,
  `$JS.API.STREAM.MSG.GET.${AUDIT_STREAM}`,
  `$JS.API.CONSUMER.CREATE.${AUDIT_STREAM}`,
  `$JS.API.CONSUMER.CREATE.${AUDIT_STREAM}.>`,
  `$JS.API.CONSUMER.MSG.NEXT.${AUDIT_STREAM}.>`,
  `$JS.API.CONSUMER.INFO.${AUDIT_STREAM}.>`,
  `$JS.API.CONSUMER.DELETE.${AUDIT_STREAM}.>`,
  `$JS.FC.${AUDIT_STREAM}.>`,
];

/**
 * The audit trail's subjects per role: routers publish records and checkpoints (PubAcks come to their inbox) and
 * nothing else of the stream; control creates the stream (the launcher, before routers start), reads it and cuts
 * its oldest messages at a checkpoint boundary (retention). No role deletes single messages.
 */
export const AUDIT_SUBJECTS: Record<NatsRole, string[]> = {
  control: [
    ...AUDIT_READ_SUBJECTS,
    `$JS.API.STREAM.CREATE.${AUDIT_STREAM}`,
    // A stream of an older build gets the subjects it lacks.
    `$JS.API.STREAM.UPDATE.${AUDIT_STREAM}`,
    // Retention (`meshctl audit retain`): purges the oldest messages, up to a checkpoint boundary.
    `$JS.API.STREAM.PURGE.${AUDIT_STREAM}`,
  ],
  router: [`${AUDIT_RECORD_PREFIX}.*.*`, `${AUDIT_CHECKPOINT_PREFIX}.*`],
  "model-worker": [],
  // The monitor appends review resolutions and outcomes (PubAcks come to its inbox), and reads nothing of it.
  monitor: [`${AUDIT_REVIEW_PREFIX}.*`, `${AUDIT_OUTCOME_PREFIX}.*`],
  validator: [],
};

/** A role's permissions; `inboxPrefix` is its identity's own inbox (the only thing it may subscribe to). */
export function rolePermissions(role: NatsRole, inboxPrefix: string): NatsPermissions {
  return {
    publish: { allow: ["$JS.API.INFO", ...ROLE_GRANTS[role].flatMap(grantSubjects), ...AUDIT_SUBJECTS[role]] },
    subscribe: { allow: [`${inboxPrefix}.>`] },
  };
}
