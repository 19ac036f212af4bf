import type { KV, NatsConnection } from "nats";
import { watchKv } from "./kv-watch.js";
import { withReplicas } from "./bucket-replicas.js";
import { encodeWorkerRecord, parseWorkerRecord, type WorkerRecord } from "./worker-record.js";
import { kvKeys } from "./kv-keys.js";

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
 * A KV key for a worker, one per host and listen address (a restarted worker overwrites the record of the one
 * before it): letters, digits and `-_=` are kept, anything else (dots, colons, brackets) becomes `_`.
 */
export function workerKey(host: string, address: string): string {
  return `${host}_${address}`.replace(/[^-A-Za-z0-9_=]/g, "_");
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
    const kv = await nc.jetstream().views.kv(WORKER_BUCKET, withReplicas({ history: 1, ttl: WORKER_RECORD_TTL_MS }));
    const ttl = (await kv.status()).ttl;
    return new WorkerStore(nc, kv, ttl > 0 ? ttl : WORKER_RECORD_TTL_MS);
  }

  async put(key: string, record: WorkerRecord): Promise<void> {
    await this.kv.put(key, encodeWorkerRecord(record));
  }

  /** The current record of every worker (a value that cannot be parsed is left out). */
  async list(): Promise<WorkerRecord[]> {
    const out: WorkerRecord[] = [];
    for (const key of await kvKeys(this.kv)) {
      const e = await this.kv.get(key);
      if (e?.operation !== "PUT") continue;
      try {
        out.push(parseWorkerRecord(e.string()));
      } catch {
        // Not a record this build reads: as watchers do, leave it out.
      }
    }
    return out;
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
