import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import type { NatsConnection } from "nats";
import { AUDIT_STREAM } from "../../../services/lib/audit/index.js";
import { BACKUP_BUCKETS, BACKUP_OBJECT_STORES } from "./parts.js";
import { backupKv, kvKeyCount, restoreKv } from "./kv.js";
import { backupObjects, objectCount, restoreObjects } from "./objects.js";
import { backupStream, restoreStream, streamMessages } from "./stream.js";
import {
  BACKUP_FORMAT,
  BackupError,
  BackupReader,
  BackupWriter,
  MANIFEST_FILE,
  SIGNING_KEY_FILE,
  type BackupManifest,
} from "./format.js";

/** Progress lines for people (meshctl writes them to stderr). */
export type Progress = (line: string) => void;

export interface BackupOptions {
  /** The audit signing key's file, copied into the backup (0600) only when given. */
  signingKeyFile?: string;
  progress?: Progress;
}

/**
 * Backs up what a mesh cannot lose into `dir` (a new or empty folder, made 0700): the KV buckets of BACKUP_BUCKETS
 * (read as control or the monitor, whichever owns them), the model object store and the audit stream (control).
 * Returns the manifest, also written last to `dir/manifest.json`.
 */
export async function backupMesh(
  conns: { control: NatsConnection; monitor: NatsConnection },
  dir: string,
  opts: BackupOptions = {},
): Promise<BackupManifest> {
  const say = opts.progress ?? (() => undefined);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new BackupError(`${dir} is not empty: back up into a new folder`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const out = new BackupWriter(dir);
  const m: BackupManifest = {
    format: BACKUP_FORMAT,
    createdAt: new Date().toISOString(),
    kv: [],
    objects: [],
    streams: [],
    signingKey: false,
    files: {},
  };
  for (const b of BACKUP_BUCKETS) {
    m.kv.push(await backupKv(conns[b.role], b.bucket, out, b.skip));
    say(`${b.bucket}: ${m.kv.at(-1)!.keys} keys`);
  }
  for (const bucket of BACKUP_OBJECT_STORES) {
    m.objects.push(await backupObjects(conns.control, bucket, out, (name) => say(`${bucket}: ${name}`)));
  }
  m.streams.push(await backupStream(conns.control, out, (done, of) => say(`${AUDIT_STREAM}: ${done}/${of} messages`)));
  if (opts.signingKeyFile) {
    out.write(SIGNING_KEY_FILE, readFileSync(opts.signingKeyFile), 0o600);
    m.signingKey = true;
  }
  m.files = out.files;
  out.write(MANIFEST_FILE, JSON.stringify(m, null, 1) + "\n", 0o600);
  return m;
}

/** What a mesh holds now of what a restore writes, e.g. "scoremesh_policy: 2 keys" (empty when nothing). */
export async function meshContents(conns: { control: NatsConnection; monitor: NatsConnection }): Promise<string[]> {
  const held: string[] = [];
  for (const b of BACKUP_BUCKETS) {
    const n = await kvKeyCount(conns[b.role], b.bucket);
    if (n > 0) held.push(`${b.bucket}: ${n} keys`);
  }
  for (const bucket of BACKUP_OBJECT_STORES) {
    const n = await objectCount(conns.control, bucket);
    if (n > 0) held.push(`${bucket}: ${n} objects`);
  }
  const n = await streamMessages(conns.control);
  if (n > 0) held.push(`${AUDIT_STREAM}: ${n} messages`);
  return held;
}

export interface RestoreOptions {
  /** Restore into a mesh that already holds data: keys are overwritten, audit messages appended. */
  force?: boolean;
  progress?: Progress;
}

/**
 * Restores a backup folder (every file's SHA-256 checked first) into the mesh: KV values and objects as the
 * identity that owns them, the audit messages as the roles that publish them. Refused, before anything is
 * written, when the mesh already holds data and `force` is not set.
 */
export async function restoreMesh(
  conns: { control: NatsConnection; monitor: NatsConnection; router: NatsConnection; validator: NatsConnection },
  dir: string,
  opts: RestoreOptions = {},
): Promise<BackupManifest> {
  const say = opts.progress ?? (() => undefined);
  const backup = BackupReader.open(dir);
  const held = await meshContents(conns);
  if (held.length > 0 && !opts.force)
    throw new BackupError(`the mesh already holds data (${held.join(", ")}); --force restores over it`);
  const roleOf = new Map(BACKUP_BUCKETS.map((b) => [b.bucket, b.role]));
  for (const part of backup.manifest.kv) {
    // An empty part creates nothing: the services create their buckets with their own options.
    if (part.keys === 0) continue;
    const role = roleOf.get(part.bucket);
    if (!role) throw new BackupError(`the backup holds bucket ${part.bucket}, which this meshctl does not restore`);
    say(`${part.bucket}: ${await restoreKv(conns[role], part, backup)} keys`);
  }
  for (const part of backup.manifest.objects.filter((p) => p.objects > 0))
    await restoreObjects(conns.control, part, backup, (n) => say(`${part.bucket}: ${n}`));
  for (const part of backup.manifest.streams.filter((p) => p.messages > 0)) {
    if (part.stream !== AUDIT_STREAM)
      throw new BackupError(`the backup holds stream ${part.stream}, which this meshctl does not restore`);
    await restoreStream(conns, part, backup, (done, of) => say(`${part.stream}: ${done}/${of} messages`));
  }
  return backup.manifest;
}
