import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";

/** The version of a backup folder's layout (manifest.json `format`). */
export const BACKUP_FORMAT = 1;

/** A KV bucket as backed up: its options (recreated on restore) and what it held. */
export interface KvPart {
  bucket: string;
  history: number;
  /** The bucket's TTL (0: none). */
  ttlMs: number;
  keys: number;
  bytes: number;
}

/** An object store as backed up. */
export interface ObjectPart {
  bucket: string;
  objects: number;
  bytes: number;
}

/** A stream as backed up: its messages in order, with their headers (publish ids included). */
export interface StreamPart {
  stream: string;
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
}

/**
 * `manifest.json` of a backup folder: what it holds and the SHA-256 of every other file in it, checked before a
 * restore writes anything.
 */
export interface BackupManifest {
  format: number;
  createdAt: string;
  kv: KvPart[];
  objects: ObjectPart[];
  streams: StreamPart[];
  /** Whether `secrets/audit-signing-key.pem` is in the folder (only with --with-signing-key). */
  signingKey: boolean;
  /** Path (relative to the folder) → SHA-256 (hex) of every file but the manifest. */
  files: Record<string, string>;
}

/** One KV entry per line of `kv/<bucket>.jsonl`. */
export interface KvLine {
  key: string;
  /** The value's bytes, base64. */
  value: string;
}

/** One message per line of `streams/<stream>.jsonl`. */
export interface StreamLine {
  seq: number;
  /** When the stream stored it (ISO). */
  time: string;
  subject: string;
  /** Every header as [name, value] pairs, in order (Nats-Msg-Id included). */
  headers: [string, string][];
  /** The payload, base64. */
  data: string;
}

/** One object per entry of `objects/<bucket>/index.json`; its bytes in `objects/<bucket>/<file>`. */
export interface ObjectLine {
  name: string;
  description?: string;
  headers: [string, string][];
  size: number;
  /** The object store's digest ("SHA-256=<base64url>"), compared after the restore. */
  digest: string;
  file: string;
}

export const MANIFEST_FILE = "manifest.json";
export const SIGNING_KEY_FILE = "secrets/audit-signing-key.pem";
export const kvFile = (bucket: string) => `kv/${bucket}.jsonl`;
export const streamFile = (stream: string) => `streams/${stream}.jsonl`;
export const objectIndexFile = (bucket: string) => `objects/${bucket}/index.json`;

export const sha256Hex = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

/** Writes the files of a backup folder and remembers each one's SHA-256 for the manifest. */
export class BackupWriter {
  readonly files: Record<string, string> = {};
  bytes = 0;

  constructor(readonly dir: string) {}

  write(path: string, data: string | Uint8Array, mode = 0o600): void {
    const full = join(this.dir, path);
    mkdirSync(dirname(full), { recursive: true, mode: 0o700 });
    writeFileSync(full, data, { mode });
    this.files[path] = sha256Hex(data);
    this.bytes += typeof data === "string" ? Buffer.byteLength(data) : data.length;
  }

  lines(path: string, rows: unknown[]): void {
    this.write(path, rows.map((r) => JSON.stringify(r) + "\n").join(""));
  }
}

/** A backup folder that was checked whole: every file the manifest lists is there with its SHA-256. */
export class BackupReader {
  private constructor(
    readonly dir: string,
    readonly manifest: BackupManifest,
  ) {}

  /** Reads the manifest and checks every file's SHA-256; throws naming the first file missing or altered. */
  static open(dir: string): BackupReader {
    let manifest: BackupManifest;
    try {
      manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), "utf8")) as BackupManifest;
    } catch (err) {
      throw new BackupError(`${join(dir, MANIFEST_FILE)}: not a backup manifest (${(err as Error).message})`);
    }
    if (manifest.format !== BACKUP_FORMAT)
      throw new BackupError(`${dir}: backup format ${manifest.format}, this meshctl reads ${BACKUP_FORMAT}`);
    for (const [path, sha] of Object.entries(manifest.files ?? {})) {
      if (isAbsolute(path) || path.split("/").includes(".."))
        throw new BackupError(`${dir}: the manifest names a file outside the folder: ${path}`);
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(dir, path));
      } catch {
        throw new BackupError(`${path} is missing from the backup ${dir}`);
      }
      if (sha256Hex(bytes) !== sha) throw new BackupError(`${path} in ${dir} does not match its SHA-256 (altered)`);
    }
    return new BackupReader(dir, manifest);
  }

  read(path: string): Buffer {
    return readFileSync(join(this.dir, path));
  }

  lines<T>(path: string): T[] {
    return this.read(path)
      .toString("utf8")
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as T);
  }
}

/** A backup or restore that cannot go on (a bad folder, a mesh that already has data, a failed write). */
export class BackupError extends Error {
  override readonly name = "BackupError";
}
