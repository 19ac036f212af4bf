import { RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from "nats";
import { nanos } from "nats";
import { bucketReplicas } from "../nats/bucket-replicas.js";

/** The JetStream stream that holds the audit trail (file storage). */
export const AUDIT_STREAM = "SCOREMESH_AUDIT";
/** Records: `scoremesh.audit.<model>.<writer>` (one subject per chain). */
export const AUDIT_RECORD_PREFIX = "scoremesh.audit";
/** Checkpoints: `scoremesh.audit-checkpoint.<writer>`. */
export const AUDIT_CHECKPOINT_PREFIX = "scoremesh.audit-checkpoint";
/** Review resolutions: `scoremesh.audit-review.<model>` (the monitor writes them; not chained). */
export const AUDIT_REVIEW_PREFIX = "scoremesh.audit-review";
/** Reported outcomes: `scoremesh.audit-outcome.<model>` (the monitor writes them; not chained). */
export const AUDIT_OUTCOME_PREFIX = "scoremesh.audit-outcome";
/** The edge's records (a validator's rules-baseline decisions): `scoremesh.audit-edge.<model>.<writer>`. */
export const AUDIT_EDGE_RECORD_PREFIX = "scoremesh.audit-edge";
/** The edge's checkpoints: `scoremesh.audit-edge-checkpoint.<writer>`. */
export const AUDIT_EDGE_CHECKPOINT_PREFIX = "scoremesh.audit-edge-checkpoint";
/** How long the stream remembers publish ids (Nats-Msg-Id) to drop a re-shipped record. */
export const AUDIT_DUPLICATE_WINDOW_MS = 10 * 60_000;

/** A model or writer name as one subject token (dots, spaces and wildcards replaced by "_"). */
export function subjectToken(s: string): string {
  return s.replace(/[.\s*>]/g, "_") || "_";
}

/**
 * Who writes a chain: a router, or the edge (a validator's rules-baseline decisions). Each role has its own
 * subjects (so a NATS identity may publish only its role's) and its own checkpoint signing key.
 */
export type AuditRole = "router" | "edge";

/** Writer names of the edge start with this ("validator-<host>-<pid>-<start>"); every other writer is a router. */
export const EDGE_WRITER_PREFIX = "validator-";

/** The role of a chain's writer, by its name. */
export function roleOfWriter(writer: string): AuditRole {
  return writer.startsWith(EDGE_WRITER_PREFIX) ? "edge" : "router";
}

export function recordSubject(model: string, writer: string, role: AuditRole = "router"): string {
  const prefix = role === "edge" ? AUDIT_EDGE_RECORD_PREFIX : AUDIT_RECORD_PREFIX;
  return `${prefix}.${subjectToken(model)}.${subjectToken(writer)}`;
}

export function checkpointSubject(writer: string, role: AuditRole = "router"): string {
  return `${role === "edge" ? AUDIT_EDGE_CHECKPOINT_PREFIX : AUDIT_CHECKPOINT_PREFIX}.${subjectToken(writer)}`;
}

/** The publish id of a record: its chain and place in it, so a re-shipped record is dropped by the stream. */
export function recordMsgId(model: string, writer: string, seq: bigint): string {
  return `${writer}|${model}|${seq}`;
}

export function checkpointMsgId(writer: string, seq: bigint): string {
  return `${writer}|checkpoint|${seq}`;
}

/** Every subject of the stream. */
export const AUDIT_STREAM_SUBJECTS = [
  `${AUDIT_RECORD_PREFIX}.*.*`,
  `${AUDIT_CHECKPOINT_PREFIX}.*`,
  `${AUDIT_REVIEW_PREFIX}.*`,
  `${AUDIT_OUTCOME_PREFIX}.*`,
  `${AUDIT_EDGE_RECORD_PREFIX}.*.*`,
  `${AUDIT_EDGE_CHECKPOINT_PREFIX}.*`,
];

/** The stream's configuration: file storage, records and checkpoints, limits retention (nothing expires yet). */
/** Kept on as many nodes as the KV buckets (NATS_REPLICAS: 3 on a three-node cluster). */
export function auditStreamConfig(replicas = bucketReplicas()): Partial<StreamConfig> {
  return {
    name: AUDIT_STREAM,
    subjects: AUDIT_STREAM_SUBJECTS,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: replicas,
    duplicate_window: nanos(AUDIT_DUPLICATE_WINDOW_MS),
  };
}

/**
 * Creates the audit stream when it is missing (the control identity does, before any router starts); a stream of
 * an older build gets the subjects it lacks (review resolutions, outcomes, the edge's chains).
 */
export async function ensureAuditStream(jsm: JetStreamManager): Promise<void> {
  let info;
  try {
    info = await jsm.streams.info(AUDIT_STREAM);
  } catch {
    await jsm.streams.add(auditStreamConfig());
    return;
  }
  const have = info.config.subjects ?? [];
  if (AUDIT_STREAM_SUBJECTS.some((s) => !have.includes(s)))
    await jsm.streams.update(AUDIT_STREAM, {
      ...info.config,
      subjects: [...new Set([...have, ...AUDIT_STREAM_SUBJECTS])],
    });
}
