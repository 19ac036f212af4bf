import type { Logger } from "pino";
import { WORKER_BUCKET, WORKER_REFRESH_MS, type WorkerRecord, type WorkerStore } from "../lib/nats/index.js";

/** What a worker knows about itself, for `describeWorker`. */
export interface WorkerFacts {
  address: string;
  host: string;
  pid: number;
  startedAt: Date;
  /** The providers asked for, in order. */
  providersRequested: readonly string[];
  versions: readonly { model: string; version: string; provider: string; ready: boolean }[];
  /** Provider → the error that kept it from loading. */
  fallbacks: ReadonlyMap<string, string>;
  /** "model/version" → why the worker refuses it. */
  refused: ReadonlyMap<string, string>;
  /** The worker's pool labels (worker-labels.ts); absent: none announced. */
  labels?: readonly string[];
}

/**
 * The record a worker publishes about itself at `now`. Active providers and fallbacks follow the order of the
 * requested list; model versions are sorted by model, then version number. Pure.
 */
export function describeWorker(w: WorkerFacts, now: Date): WorkerRecord {
  const rank = (p: string) => {
    const i = w.providersRequested.indexOf(p);
    return i < 0 ? w.providersRequested.length : i;
  };
  const byVersion = (a: { model: string; version: string }, b: { model: string; version: string }) =>
    a.model.localeCompare(b.model) || Number(a.version) - Number(b.version) || a.version.localeCompare(b.version);
  return {
    address: w.address,
    instance: `${w.host}/${w.pid}`,
    pid: w.pid,
    providersRequested: [...w.providersRequested],
    providersActive: [...new Set(w.versions.map((v) => v.provider))].sort((a, b) => rank(a) - rank(b)),
    fallbacks: [...w.fallbacks]
      .map(([provider, reason]) => ({ provider, reason }))
      .sort((a, b) => rank(a.provider) - rank(b.provider)),
    models: w.versions
      .map((v) => ({ model: v.model, version: v.version, provider: v.provider, ready: v.ready }))
      .sort(byVersion),
    refused: [...w.refused]
      .map(([key, reason]) => {
        const i = key.lastIndexOf("/");
        return { model: key.slice(0, i), version: key.slice(i + 1), reason };
      })
      .sort(byVersion),
    startedAt: w.startedAt.toISOString(),
    updatedAt: now.toISOString(),
    ...(w.labels?.length ? { labels: [...w.labels] } : {}),
  };
}

export interface WorkerAnnouncerOptions {
  /** The worker's key in the bucket (`workerKey(host, address)`). */
  key: string;
  /** The record to publish now. */
  describe: () => WorkerRecord;
  /** Opens the store; when it fails, the next refresh tries again. */
  open: () => Promise<Pick<WorkerStore, "put" | "remove">>;
  log: Logger;
  /** How often the record is rewritten, so that it does not expire. Default `WORKER_REFRESH_MS` (10 s). */
  refreshMs?: number;
  /** How long `close()` waits for NATS to take the delete. Default 2000 ms. */
  closeTimeoutMs?: number;
}

/**
 * Keeps a worker's record in the worker bucket: written by `publish()` (at start-up and when something
 * changed) and every `refreshMs` after `start()`, deleted by `close()`. Best effort: the worker serves whether
 * or not NATS takes the record; a failure is logged once (and its end once) and the next refresh tries again.
 * Writes never overlap: a `publish()` during a write writes once more after it.
 *
 * @example
 *   const a = new WorkerAnnouncer({ key, describe: () => describeWorker(facts(), new Date()), open: () => WorkerStore.open(nc), log });
 *   void a.publish();
 *   a.start();
 *   registry.sync().then(() => a.publish());
 *   host.onClose(() => a.close());
 */
export class WorkerAnnouncer {
  private store: Pick<WorkerStore, "put" | "remove"> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private failing = false;
  /** Records written since the start. */
  published = 0;

  constructor(private readonly opts: WorkerAnnouncerOptions) {}

  /** Rewrites the record every `refreshMs` from now on (the first write is the caller's `publish()`). */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.publish(), this.opts.refreshMs ?? WORKER_REFRESH_MS);
    this.timer.unref();
  }

  /** Writes the record now (or once more after the write in progress); never rejects. */
  publish(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.writeUntilCurrent().finally(() => (this.running = undefined));
    return this.running;
  }

  private async writeUntilCurrent(): Promise<void> {
    do {
      this.again = false;
      await this.writeOnce();
    } while (this.again && !this.closed);
  }

  private async writeOnce(): Promise<void> {
    const log = this.opts.log;
    try {
      this.store ??= await this.opts.open();
      await this.store.put(this.opts.key, this.opts.describe());
      this.published++;
      if (this.failing) log.info({ bucket: WORKER_BUCKET, key: this.opts.key }, "worker record published again");
      this.failing = false;
    } catch (err) {
      if (!this.failing)
        log.warn(
          { err, bucket: WORKER_BUCKET, key: this.opts.key },
          "could not publish the worker record; retrying on the next refresh",
        );
      else log.debug({ err }, "worker record still not published");
      this.failing = true;
    }
  }

  /** Stops refreshing and deletes the record (waiting at most `closeTimeoutMs`; otherwise it expires). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const timeoutMs = this.opts.closeTimeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    try {
      if (this.running) await Promise.race([this.running, timeout]);
      const store = this.store;
      if (!store) return;
      const removed = await Promise.race([store.remove(this.opts.key).then(() => "removed" as const), timeout]);
      if (removed === "removed")
        this.opts.log.info({ bucket: WORKER_BUCKET, key: this.opts.key }, "worker record deleted");
      else
        this.opts.log.warn(
          { bucket: WORKER_BUCKET, key: this.opts.key },
          "worker record not deleted in time; it expires on its own",
        );
    } catch (err) {
      this.opts.log.warn(
        { err, bucket: WORKER_BUCKET, key: this.opts.key },
        "could not delete the worker record; it expires on its own",
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
