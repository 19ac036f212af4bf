import type { KV, NatsConnection } from "nats";
import { watchKv } from "./kv-watch.js";

/** The JetStream KV bucket where every model worker describes itself (one key per worker). */
export const WORKER_BUCKET = "scoremesh_workers";

/**
 * How long a worker's record lives in the bucket (the bucket's max_age): a worker rewrites it every
 * `WORKER_REFRESH_MS`, so a worker that died without deleting its key disappears within this time.
 */
export const WORKER_RECORD_TTL_MS = 30_000;

/** How often a worker rewrites its record (a third of the TTL: two refreshes may be lost before it expires). */
export const WORKER_REFRESH_MS = 10_000;

/**
 * What a model worker tells the rest of the mesh about itself: where it listens, which execution providers
 * it asked ONNX Runtime for and which it runs on (and why it fell back), and which model versions it serves.
 * The value of its key in the worker bucket, as JSON (`nats kv get scoremesh_workers <key>` is readable).
 */
export interface WorkerRecord {
  /** The gRPC address the worker listens on (WORKER_ADDR). */
  address: string;
  /** Host name and process id, e.g. "node-3/4711": tells a restarted worker from the one before it. */
  instance: string;
  pid: number;
  /** The execution providers asked for, in order (WORKER_EXECUTION_PROVIDERS resolved; "cpu" ends it). */
  providersRequested: string[];
  /** The providers its loaded model versions run on. */
  providersActive: string[];
  /** Providers that could not load, with the first line of ONNX Runtime's error. Empty when none failed. */
  fallbacks: { provider: string; reason: string }[];
  /** The model versions loaded; `ready` once warmed up. */
  models: { model: string; version: string; provider: string; ready: boolean }[];
  /** Versions the worker refuses to serve (the skew guard), with the reason. */
  refused: { model: string; version: string; reason: string }[];
  /** ISO 8601 times (the worker's clock): when the process started and when this record was written. */
  startedAt: string;
  updatedAt: string;
}

/**
 * A KV key for a worker, one per host and listen address (a restarted worker overwrites the record of the one
 * before it): letters, digits and `-_=` are kept, anything else (dots, colons, brackets) becomes `_`.
 */
export function workerKey(host: string, address: string): string {
  return `${host}_${address}`.replace(/[^-A-Za-z0-9_=]/g, "_");
}

/** Parses a record from the bucket; throws naming the first field that is missing or of the wrong type. */
export function parseWorkerRecord(json: string): WorkerRecord {
  const v = JSON.parse(json) as Record<string, unknown>;
  const str = (o: Record<string, unknown>, k: string) => {
    if (typeof o[k] !== "string") throw new TypeError(`worker record: ${k} must be a string`);
    return o[k];
  };
  const list = <T>(k: string, item: (x: Record<string, unknown>) => T): T[] => {
    const a = v[k];
    if (!Array.isArray(a)) throw new TypeError(`worker record: ${k} must be an array`);
    return a.map((x) => {
      if (typeof x !== "object" || x === null) throw new TypeError(`worker record: ${k} must hold objects`);
      return item(x as Record<string, unknown>);
    });
  };
  const strings = (k: string) => {
    const a = v[k];
    if (!Array.isArray(a) || !a.every((x) => typeof x === "string")) throw new TypeError(`worker record: ${k} must be an array of strings`);
    return a;
  };
  if (typeof v["pid"] !== "number" || !Number.isInteger(v["pid"])) throw new TypeError("worker record: pid must be an integer");
  return {
    address: str(v, "address"),
    instance: str(v, "instance"),
    pid: v["pid"],
    providersRequested: strings("providersRequested"),
    providersActive: strings("providersActive"),
    fallbacks: list("fallbacks", (f) => ({ provider: str(f, "provider"), reason: str(f, "reason") })),
    models: list("models", (m) => {
      if (typeof m["ready"] !== "boolean") throw new TypeError("worker record: models[].ready must be a boolean");
      return { model: str(m, "model"), version: str(m, "version"), provider: str(m, "provider"), ready: m["ready"] };
    }),
    refused: list("refused", (r) => ({ model: str(r, "model"), version: str(r, "version"), reason: str(r, "reason") })),
    startedAt: str(v, "startedAt"),
    updatedAt: str(v, "updatedAt"),
  };
}

/**
 * A change of one key of the worker bucket, in the bucket's order: a record written (`record` set) or the key
 * deleted or purged (`record` absent).
 */
export interface WorkerChange {
  key: string;
  record?: WorkerRecord;
}

/**
 * The model workers of the mesh, one key per worker in a JetStream KV bucket whose values expire after
 * `WORKER_RECORD_TTL_MS` (max_age): a worker writes its record at start-up, when its models change and every
 * `WORKER_REFRESH_MS`, and deletes it on a graceful shutdown; one that died stops refreshing and its record
 * expires. The bucket does not tell watchers when a value expires, so a reader also ages out records it has
 * not seen rewritten for the TTL (see services/monitor/worker-table.ts).
 *
 * @example
 *   const store = await WorkerStore.open(nc);
 *   await store.put(workerKey(hostname(), config.address), record);
 *   const w = await store.watch((c) => table.apply(c, Date.now()), (err) => log.warn({ err }));
 */
export class WorkerStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    /** The bucket's TTL in ms (the one it was created with, which a reader should age records by). */
    readonly ttlMs: number,
  ) {}

  static async open(nc: NatsConnection): Promise<WorkerStore> {
    const kv = await nc.jetstream().views.kv(WORKER_BUCKET, { history: 1, ttl: WORKER_RECORD_TTL_MS });
    const ttl = (await kv.status()).ttl;
    return new WorkerStore(nc, kv, ttl > 0 ? ttl : WORKER_RECORD_TTL_MS);
  }

  async put(key: string, record: WorkerRecord): Promise<void> {
    await this.kv.put(key, JSON.stringify(record));
  }

  async remove(key: string): Promise<void> {
    await this.kv.delete(key);
  }

  /**
   * Calls `onChange` with the current record of every worker, then with every write and delete, until
   * `close()`; resolves once the current values have been delivered. The watch outlives nats-server restarts
   * (`watchKv`). A value that cannot be parsed goes to `onError` and the watch goes on.
   */
  watch(onChange: (c: WorkerChange) => void, onError: (err: unknown) => void): Promise<{ close(): void }> {
    return watchKv({
      nc: this.nc,
      kv: this.kv,
      bucket: WORKER_BUCKET,
      decode: parseWorkerRecord,
      onValue: (record, key) => onChange({ key, record }),
      onDelete: (key) => onChange({ key }),
      onError,
    });
  }
}
