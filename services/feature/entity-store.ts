import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { wallClock, type Clock } from "../lib/service/index.js";
import {
  isSnapshotFileName,
  parseSnapshot,
  SnapshotError,
  type EntitySnapshot,
  type EntityValues,
  type FeatureSpec,
} from "../lib/model/index.js";

export interface EntityStoreOptions {
  /** The folder of one model family's snapshot files (snapshot-*.jsonl). */
  dir: string;
  /** The family's feature spec: a snapshot must carry every entity feature it reads. */
  spec: FeatureSpec;
  log: Logger;
  /** Larger files are refused without being read. Default 256 MiB. */
  maxBytes?: number;
  /** Milliseconds since the epoch (a snapshot's age is now − its created_at). Default `wallClock`; a test passes a fake one. */
  clock?: Clock;
}

/** How fresh the snapshot in use is: for logs and health lines. */
export interface Freshness {
  model: string;
  file: string;
  entities: number;
  created_at: string;
  /** now − created_at, in seconds. */
  age_s: number;
  loaded_at: string;
}

interface Loaded {
  snapshot: EntitySnapshot;
  file: string;
  /** size:mtime of the file when it was read: a file that changes is read again. */
  stamp: string;
  loadedAt: number;
}

/**
 * The entity snapshot a feature service uses for one model family: the newest snapshot file of a folder, read
 * whole into memory. `refresh()` looks for a newer file (or a changed newest one) and swaps it in only once it
 * has been read and checked completely, so a lookup sees the old snapshot or the new one, never a mix. A file
 * that cannot be used is logged and skipped (and not read again until it changes); the snapshot in use stays.
 *
 * @example
 *   const store = new EntityStore({ dir: "models/credit-default/entities", spec, log });
 *   await store.load();
 *   store.poll(5000);
 *   buildVector(spec, inputs, store.get(entityId));
 */
export class EntityStore {
  private loaded?: Loaded;
  /** file + stamp of files refused, so that a broken file is not read again every poll. */
  private readonly refused = new Set<string>();
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<boolean>;
  private readonly maxBytes: number;
  private readonly clock: Clock;

  constructor(private readonly opts: EntityStoreOptions) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.clock = opts.clock ?? wallClock;
  }

  get model(): string {
    return this.opts.spec.model;
  }

  /** The entity's features in the snapshot in use, or undefined (unknown entity, no id, no snapshot). */
  get(entityId: string): EntityValues | undefined {
    return entityId === "" ? undefined : this.loaded?.snapshot.entities.get(entityId);
  }

  /** The id of the snapshot in use (its file name without ".jsonl"), "" when none: the audit trail records it. */
  snapshotId(): string {
    return this.loaded?.file.replace(/\.jsonl$/, "") ?? "";
  }

  /** The snapshot in use, if any. */
  snapshot(): EntitySnapshot | undefined {
    return this.loaded?.snapshot;
  }

  freshness(): Freshness | undefined {
    const l = this.loaded;
    if (!l) return undefined;
    return {
      model: this.opts.spec.model,
      file: l.file,
      entities: l.snapshot.entities.size,
      created_at: l.snapshot.header.created_at,
      age_s: Math.round((this.clock.now() - Date.parse(l.snapshot.header.created_at)) / 1000),
      loaded_at: new Date(l.loadedAt).toISOString(),
    };
  }

  /**
   * At start: loads the newest snapshot that can be used, trying older files when newer ones are refused.
   * Resolves false when there is none (every entity feature is then imputed until one appears).
   */
  async load(): Promise<boolean> {
    const files = await this.candidates();
    for (const f of files) {
      if (await this.tryLoad(f)) return true;
    }
    this.opts.log.warn(
      { model: this.opts.spec.model, dir: this.opts.dir, files: files.length },
      "no usable entity snapshot; entity features are imputed",
    );
    return false;
  }

  /**
   * Loads the newest snapshot file if it is newer than the one in use (by name) or is the one in use changed
   * on disk, and was not refused as it is. Resolves true when a snapshot was swapped in. Calls never overlap.
   */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Calls refresh() every `intervalMs` until close(). */
  poll(intervalMs: number): this {
    if (intervalMs > 0 && !this.timer) {
      this.timer = setInterval(() => {
        this.refresh().catch((err: unknown) =>
          this.opts.log.error({ err, model: this.opts.spec.model }, "entity snapshot refresh failed"),
        );
      }, intervalMs);
      this.timer.unref();
    }
    return this;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async doRefresh(): Promise<boolean> {
    const [newest] = await this.candidates();
    if (!newest) return false;
    if (this.loaded && newest.name < this.loaded.file) return false;
    if (this.loaded && newest.name === this.loaded.file && newest.stamp === this.loaded.stamp) return false;
    if (this.refused.has(newest.name + "@" + newest.stamp)) return false;
    return this.tryLoad(newest);
  }

  /** Snapshot files of the folder, newest (by name) first; none when the folder does not exist. */
  private async candidates(): Promise<{ name: string; stamp: string; size: number }[]> {
    let names: string[];
    try {
      names = (await readdir(this.opts.dir)).filter(isSnapshotFileName);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    names.sort().reverse();
    const out: { name: string; stamp: string; size: number }[] = [];
    for (const name of names) {
      try {
        const s = await stat(join(this.opts.dir, name));
        if (s.isFile()) out.push({ name, stamp: `${s.size}:${s.mtimeMs}`, size: s.size });
      } catch {
        // Removed between readdir and stat: not a candidate.
      }
    }
    return out;
  }

  private async tryLoad(f: { name: string; stamp: string; size: number }): Promise<boolean> {
    const { log, spec, dir } = this.opts;
    const path = join(dir, f.name);
    try {
      if (f.size > this.maxBytes)
        throw new SnapshotError(`${path}: ${f.size} bytes, more than the ${this.maxBytes} allowed`);
      const snapshot = parseSnapshot(await readFile(path, "utf8"), { source: path, spec });
      const previous = this.loaded?.file;
      this.loaded = { snapshot, file: f.name, stamp: f.stamp, loadedAt: this.clock.now() };
      log.info({ ...this.freshness(), previous }, "entity snapshot loaded");
      return true;
    } catch (err) {
      if (this.refused.size >= 1000) this.refused.clear();
      this.refused.add(f.name + "@" + f.stamp);
      log.error(
        {
          model: spec.model,
          file: f.name,
          err: err instanceof Error ? err.message : String(err),
          keeping: this.loaded?.file ?? null,
        },
        "entity snapshot refused; keeping the one in use",
      );
      return false;
    }
  }
}
