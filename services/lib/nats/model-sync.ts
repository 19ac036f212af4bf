import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Events, type NatsConnection, type ObjectInfo, type QueuedIterator } from "nats";
import type { Logger } from "pino";
import { MODEL_BUCKET, ModelStore, ModelStoreError, parseModelObject, type Retirement } from "./model-store.js";

export interface ModelSyncOptions {
  nc: NatsConnection;
  /** The local model cache: versions land in `<cacheDir>/<model>/<version>/` (see ModelRepository's `published`). */
  cacheDir: string;
  /** The families this process serves; versions of other families are not downloaded. */
  models: () => readonly string[];
  /** A published version is in the cache, its files checked (also for versions published before the start). */
  onVersion: (model: string, version: string) => void;
  /** A version was retired (meshctl retire). */
  onRetired?: (r: Retirement) => void;
  log: Logger;
  /** How long to wait before trying again when the store is missing or the watch ended. Default 1000 ms. */
  retryMs?: number;
}

/**
 * Follows the model object store: every version published there (meshctl publish) is downloaded into the local
 * model cache, each file's SHA-256 checked against the version's manifest, written to a temporary folder and
 * renamed into place (so a reader never sees half a version, and processes may share one cache), then announced
 * with `onVersion`. A version that fails its check is logged once and never used. The watch replays the store's
 * current objects whenever it starts (at start-up, after it ended, after a reconnect), so nothing published while
 * NATS was away is missed; a store that does not exist yet is looked for again every `retryMs`.
 *
 * @example
 *   const sync = new ModelSync({ nc, cacheDir, models: () => repo.models(), onVersion: () => void registry.sync(), log }).start();
 *   await sync.initial(5000);
 */
export class ModelSync {
  /** Retired versions, by "model/version". */
  readonly retired = new Map<string, Retirement>();
  private readonly done = new Set<string>();
  private readonly failed = new Set<string>();
  private closed = false;
  private current: QueuedIterator<ObjectInfo | null> | undefined;
  private markInitial!: () => void;
  private readonly initialized = new Promise<void>((r) => (this.markInitial = r));
  private failing = false;

  constructor(private readonly o: ModelSyncOptions) {}

  start(): this {
    void this.run();
    void this.restartOnReconnect();
    return this;
  }

  /** Resolves once the versions published before the start are in the cache, or after `timeoutMs`. */
  initial(timeoutMs: number): Promise<void> {
    return Promise.race([this.initialized, new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
  }

  close(): void {
    this.closed = true;
    this.current?.stop();
  }

  private async run(): Promise<void> {
    while (!this.closed && !this.o.nc.isClosed()) {
      try {
        const store = await ModelStore.open(this.o.nc);
        if (!store)
          this.markInitial(); // nothing published yet
        else await this.follow(store);
        this.failing = false;
      } catch (err) {
        this.current?.stop();
        if (!this.failing) this.o.log.warn({ err, bucket: MODEL_BUCKET }, "cannot follow the model store; retrying");
        this.failing = true;
      }
      await new Promise((r) => setTimeout(r, this.o.retryMs ?? 1000).unref());
    }
  }

  private async follow(store: ModelStore): Promise<void> {
    const iter = await store.os.watch({ includeHistory: true, ignoreDeletes: true });
    this.current = iter;
    for await (const info of iter) {
      if (this.closed) break;
      if (info === null) {
        this.markInitial();
        continue;
      }
      const obj = parseModelObject(info.name);
      if (!obj || !this.o.models().includes(obj.model)) continue;
      if (obj.kind === "retired") await this.noteRetired(store, obj.model, obj.version);
      else await this.fetch(store, obj.model, obj.version);
    }
  }

  private async restartOnReconnect(): Promise<void> {
    for await (const s of this.o.nc.status()) {
      if (this.closed) return;
      if (s.type === Events.Reconnect) this.current?.stop();
    }
  }

  private async noteRetired(store: ModelStore, model: string, version: string): Promise<void> {
    const key = `${model}/${version}`;
    if (this.retired.has(key)) return;
    const r = await store.retirement(model, version);
    if (!r) return;
    this.retired.set(key, r);
    this.o.log.info({ model, version, by: r.retiredBy }, "model version retired");
    this.o.onRetired?.(r);
  }

  /** Downloads a version into the cache (once); a version that fails its checks is logged once and skipped. */
  private async fetch(store: ModelStore, model: string, version: string): Promise<void> {
    const key = `${model}/${version}`;
    if (this.done.has(key) || this.failed.has(key)) return;
    const dir = join(this.o.cacheDir, model, version);
    const started = performance.now();
    try {
      if (!existsSync(dir)) {
        const manifest = await store.manifest(model, version);
        if (!manifest) return;
        const files = await store.download(manifest);
        const tmp = join(this.o.cacheDir, model, `.${version}.${process.pid}.${Date.now()}`);
        mkdirSync(tmp, { recursive: true });
        for (const f of files) writeFileSync(join(tmp, f.name), f.bytes);
        try {
          renameSync(tmp, dir);
        } catch (err) {
          rmSync(tmp, { recursive: true, force: true });
          if (!existsSync(dir)) throw err; // else another process put it there first
        }
      }
      this.done.add(key);
      this.o.log.info(
        { model, version, ms: Math.round(performance.now() - started) },
        "published model version downloaded and checked",
      );
      this.o.onVersion(model, version);
    } catch (err) {
      if (!(err instanceof ModelStoreError)) throw err; // NATS trouble: the watch starts again and replays
      this.failed.add(key);
      this.o.log.error({ err, model, version }, "published model version refused: its download failed its checks");
    }
  }
}
