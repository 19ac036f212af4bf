import { headers as natsHeaders, type MsgHdrs, type NatsConnection, type ObjectStore } from "nats";
import { bucketReplicas } from "../../../services/lib/nats/bucket-replicas.js";
import {
  BackupError,
  objectIndexFile,
  type BackupReader,
  type BackupWriter,
  type ObjectLine,
  type ObjectPart,
} from "./format.js";

/** Headers as [name, value] pairs (MsgHdrs is a multimap). */
export function headerPairs(h: MsgHdrs | undefined): [string, string][] {
  const pairs: [string, string][] = [];
  if (h) for (const [k, vs] of h) for (const v of vs) pairs.push([k, v]);
  return pairs;
}

export function toHeaders(pairs: [string, string][]): MsgHdrs | undefined {
  if (pairs.length === 0) return undefined;
  const h = natsHeaders();
  for (const [k, v] of pairs) h.append(k, v);
  return h;
}

/** Opens an object store that exists, or undefined; never creates one. */
async function existingOs(nc: NatsConnection, bucket: string): Promise<ObjectStore | undefined> {
  const jsm = await nc.jetstreamManager();
  const exists = await jsm.streams.info(`OBJ_${bucket}`).then(
    () => true,
    (err: { code?: string }) => (err.code === "404" ? false : Promise.reject(err as Error)),
  );
  return exists ? nc.jetstream().views.os(bucket) : undefined;
}

/** How many objects the store holds now (0 when it does not exist). */
export async function objectCount(nc: NatsConnection, bucket: string): Promise<number> {
  const os = await existingOs(nc, bucket);
  return os ? (await os.list()).length : 0;
}

/** Writes every object of `bucket` to objects/<bucket>/<n>.bin and its metadata to objects/<bucket>/index.json. */
export async function backupObjects(
  nc: NatsConnection,
  bucket: string,
  out: BackupWriter,
  progress: (name: string) => void,
): Promise<ObjectPart> {
  const os = await existingOs(nc, bucket);
  const index: ObjectLine[] = [];
  const part: ObjectPart = { bucket, objects: 0, bytes: 0 };
  const infos = os ? (await os.list()).filter((o) => !o.deleted && !o.options?.link) : [];
  for (const [i, info] of infos.sort((a, b) => a.name.localeCompare(b.name)).entries()) {
    const bytes = await os!.getBlob(info.name);
    if (!bytes) throw new BackupError(`${bucket}: ${info.name} vanished during the backup`);
    const file = `objects/${bucket}/${i}.bin`;
    out.write(file, bytes);
    const { name, description, size, digest } = info;
    index.push({
      name,
      ...(description ? { description } : {}),
      headers: headerPairs(info.headers),
      size,
      digest,
      file,
    });
    part.bytes += bytes.length;
    progress(info.name);
  }
  part.objects = index.length;
  out.write(objectIndexFile(bucket), JSON.stringify(index, null, 1));
  return part;
}

/** Puts every backed-up object of `part` into its store (created if missing); each digest must come out equal. */
export async function restoreObjects(
  nc: NatsConnection,
  part: ObjectPart,
  backup: BackupReader,
  progress: (name: string) => void,
): Promise<number> {
  const os = await nc.jetstream().views.os(part.bucket, { replicas: bucketReplicas() });
  const index = JSON.parse(backup.read(objectIndexFile(part.bucket)).toString("utf8")) as ObjectLine[];
  for (const o of index) {
    const hdrs = toHeaders(o.headers);
    const meta = {
      name: o.name,
      ...(o.description ? { description: o.description } : {}),
      ...(hdrs ? { headers: hdrs } : {}),
    };
    const info = await os.putBlob(meta, backup.read(o.file));
    if (info.digest !== o.digest || info.size !== o.size)
      throw new BackupError(`${part.bucket}: ${o.name} stored as ${info.digest}, the backup says ${o.digest}`);
    progress(o.name);
  }
  return index.length;
}
