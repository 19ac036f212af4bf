import type { NatsConnection, ObjectStore } from "nats";
import { sha256Hex, type VersionFile, type VersionFolder } from "../model/index.js";
import { bucketReplicas } from "./bucket-replicas.js";

/** The JetStream object store of published model versions (meshctl publish / retire; workers and routers read). */
export const MODEL_BUCKET = "scoremesh_models";

/** What a published version consists of; written last, so a version is complete once its manifest is there. */
export interface VersionManifest {
  model: string;
  version: string;
  files: VersionFile[];
  publishedBy: string;
  publishedAt: string;
}

/** A retired version: no policy may point to it any more; its files stay in the store for audit replay. */
export interface Retirement {
  model: string;
  version: string;
  retiredBy: string;
  retiredAt: string;
}

/** A published file's bytes did not match its manifest (a corrupt or altered object). */
export class ModelStoreError extends Error {
  override readonly name = "ModelStoreError";
}

const fileName = (model: string, version: string, file: string) => `versions/${model}/${version}/${file}`;
const manifestName = (model: string, version: string) => fileName(model, version, "manifest.json");
const retiredName = (model: string, version: string) => `retired/${model}/${version}`;
const MANIFEST = /^versions\/([^/]+)\/([1-9][0-9]*)\/manifest\.json$/;
const RETIRED = /^retired\/([^/]+)\/([1-9][0-9]*)$/;

/** An object's name as a published manifest or a retirement, or undefined for any other object. */
export function parseModelObject(
  name: string,
): { kind: "manifest" | "retired"; model: string; version: string } | undefined {
  const m = MANIFEST.exec(name) ?? RETIRED.exec(name);
  if (!m) return undefined;
  return { kind: name.startsWith("retired/") ? "retired" : "manifest", model: m[1]!, version: m[2]! };
}

/**
 * The published model versions in NATS: `versions/<model>/<version>/{card.json,model.onnx,manifest.json}` and
 * `retired/<model>/<version>` in the object store MODEL_BUCKET (stream `OBJ_scoremesh_models`). The object store
 * checks each object's SHA-256 on read; the manifest's digests are checked again on every download.
 *
 * @example
 *   const store = await ModelStore.open(nc, { create: true });
 *   await store.publish(readVersionFolder(dir, model, spec), "ana");
 */
export class ModelStore {
  private constructor(readonly os: ObjectStore) {}

  /** Opens the store; without `create`, undefined when it does not exist yet (readers may not create it). */
  static async open(nc: NatsConnection, o: { create?: boolean } = {}): Promise<ModelStore | undefined> {
    if (!o.create) {
      const jsm = await nc.jetstreamManager();
      const exists = await jsm.streams.info(`OBJ_${MODEL_BUCKET}`).then(
        () => true,
        (err: { code?: string }) => (err.code === "404" ? false : Promise.reject(err as Error)),
      );
      if (!exists) return undefined;
    }
    return new ModelStore(await nc.jetstream().views.os(MODEL_BUCKET, { replicas: bucketReplicas() }));
  }

  async manifest(model: string, version: string): Promise<VersionManifest | undefined> {
    const bytes = await this.os.getBlob(manifestName(model, version));
    return bytes ? (JSON.parse(Buffer.from(bytes).toString("utf8")) as VersionManifest) : undefined;
  }

  async retirement(model: string, version: string): Promise<Retirement | undefined> {
    const bytes = await this.os.getBlob(retiredName(model, version));
    return bytes ? (JSON.parse(Buffer.from(bytes).toString("utf8")) as Retirement) : undefined;
  }

  /** Every published version and every retirement, by name (no file is read but the retirements). */
  async list(): Promise<{ published: { model: string; version: string }[]; retired: Retirement[] }> {
    const objects = (await this.os.list()).map((o) => parseModelObject(o.name)).filter((o) => o !== undefined);
    const retired = await Promise.all(
      objects.filter((o) => o.kind === "retired").map((o) => this.retirement(o.model, o.version)),
    );
    return {
      published: objects.filter((o) => o.kind === "manifest").map(({ model, version }) => ({ model, version })),
      retired: retired.filter((r) => r !== undefined),
    };
  }

  /**
   * Uploads a version's files, then its manifest (so a reader never sees half a version). `onProgress` is told
   * the bytes sent of each file as they go (chunks of 128 KiB).
   */
  async publish(
    v: VersionFolder,
    by: string,
    onProgress?: (file: string, sent: number, size: number) => void,
  ): Promise<VersionManifest> {
    const { model, version } = v.card;
    for (const f of v.files) {
      const info = await this.os.put(
        { name: fileName(model, version, f.name) },
        chunked(f.bytes, (sent) => onProgress?.(f.name, sent, f.size)),
      );
      if (info.size !== f.size) throw new ModelStoreError(`${f.name}: stored ${info.size} bytes of ${f.size}`);
    }
    const manifest: VersionManifest = {
      model,
      version,
      files: v.files.map(({ name, sha256, size }) => ({ name, sha256, size })),
      publishedBy: by,
      publishedAt: new Date().toISOString(),
    };
    await this.os.putBlob({ name: manifestName(model, version) }, new TextEncoder().encode(JSON.stringify(manifest)));
    return manifest;
  }

  async retire(model: string, version: string, by: string): Promise<Retirement> {
    const r: Retirement = { model, version, retiredBy: by, retiredAt: new Date().toISOString() };
    await this.os.putBlob({ name: retiredName(model, version) }, new TextEncoder().encode(JSON.stringify(r)));
    return r;
  }

  /** A published version's files, each checked against the manifest's SHA-256; ModelStoreError when one differs. */
  async download(m: VersionManifest): Promise<{ name: string; bytes: Uint8Array }[]> {
    const out: { name: string; bytes: Uint8Array }[] = [];
    for (const f of m.files) {
      const bytes = await this.os.getBlob(fileName(m.model, m.version, f.name));
      if (!bytes) throw new ModelStoreError(`${m.model} version ${m.version}: ${f.name} is missing from the store`);
      const sha = sha256Hex(bytes);
      if (sha !== f.sha256)
        throw new ModelStoreError(
          `${m.model} version ${m.version}: ${f.name} has sha256 ${sha}, its manifest says ${f.sha256}`,
        );
      out.push({ name: f.name, bytes });
    }
    return out;
  }
}

/** The bytes as a stream of 128 KiB chunks, telling `progress` the bytes handed over so far. */
function chunked(bytes: Uint8Array, progress: (sent: number) => void): ReadableStream<Uint8Array> {
  const size = 128 * 1024;
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const chunk = bytes.subarray(at, Math.min(at + size, bytes.length));
      at += chunk.length;
      controller.enqueue(chunk);
      progress(at);
    },
  });
}
