import type { KV, NatsConnection } from "nats";
import { kvKeys } from "../../../services/lib/nats/index.js";
import { withReplicas } from "../../../services/lib/nats/bucket-replicas.js";
import { BackupError, kvFile, type BackupReader, type BackupWriter, type KvLine, type KvPart } from "./format.js";

/** Opens a KV bucket that exists, or undefined (a mesh that never used it); never creates one. */
export async function existingKv(nc: NatsConnection, bucket: string): Promise<KV | undefined> {
  const jsm = await nc.jetstreamManager();
  const exists = await jsm.streams.info(`KV_${bucket}`).then(
    () => true,
    (err: { code?: string }) => (err.code === "404" ? false : Promise.reject(err as Error)),
  );
  return exists ? nc.jetstream().views.kv(bucket, { bindOnly: true }) : undefined;
}

/** Writes every current value of `bucket` (but the keys `skip` names) to kv/<bucket>.jsonl. */
export async function backupKv(
  nc: NatsConnection,
  bucket: string,
  out: BackupWriter,
  skip: (key: string) => boolean = () => false,
): Promise<KvPart> {
  const kv = await existingKv(nc, bucket);
  const part: KvPart = { bucket, history: 1, ttlMs: 0, keys: 0, bytes: 0 };
  const lines: KvLine[] = [];
  if (kv) {
    const status = await kv.status();
    part.history = status.history;
    part.ttlMs = status.ttl;
    for (const key of (await kvKeys(kv)).sort()) {
      if (skip(key)) continue;
      const e = await kv.get(key);
      if (!e || e.operation !== "PUT") continue;
      lines.push({ key, value: Buffer.from(e.value).toString("base64") });
      part.bytes += e.value.length;
    }
  }
  part.keys = lines.length;
  out.lines(kvFile(bucket), lines);
  return part;
}

/** How many keys the bucket holds now (0 when it does not exist). */
export async function kvKeyCount(nc: NatsConnection, bucket: string): Promise<number> {
  const kv = await existingKv(nc, bucket);
  return kv ? (await kvKeys(kv)).length : 0;
}

/** Puts every backed-up value of `part` into its bucket (created with the backup's history and TTL if missing). */
export async function restoreKv(nc: NatsConnection, part: KvPart, backup: BackupReader): Promise<number> {
  const kv = await nc
    .jetstream()
    .views.kv(part.bucket, withReplicas({ history: part.history, ...(part.ttlMs > 0 ? { ttl: part.ttlMs } : {}) }));
  const lines = backup.lines<KvLine>(kvFile(part.bucket));
  for (const l of lines) {
    await kv.put(l.key, Buffer.from(l.value, "base64")).catch((err: Error) => {
      throw new BackupError(`${part.bucket}: cannot put ${l.key}: ${err.message}`);
    });
  }
  return lines.length;
}
