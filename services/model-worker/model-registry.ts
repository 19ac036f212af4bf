import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { ModelRepository } from "../lib/model/index.js";
import type { ProviderName } from "./execution-providers.js";
import { inferCached } from "./cached-infer.js";
import type { InferOptions, LoadedVersion, OutputTensor } from "./loaded-version.js";
import { runAlone } from "./version-batch.js";
import { loadVersion, type LoaderOptions } from "./version-loader.js";
import { VersionSkewGuard } from "./version-skew-guard.js";
import { VersionTable, versionKey } from "./version-table.js";
import { drainAndRelease, type DrainOptions } from "./version-unload.js";

/** A retired version loaded for a call that names it (audit replay) is released after this long without calls. */
export const RETIRED_IDLE_MS = 60_000;

export type { InferOptions, LoadedVersion, OutputArray, OutputTensor } from "./loaded-version.js";

/** Session options, execution providers, batching defaults and the row cache size of every version. */
export type RegistryOptions = LoaderOptions;

/**
 * The worker's model versions. Each version gets one ONNX Runtime session, created once on the first
 * execution provider that loads, and warmed up at every batch size it will run before it reports ready;
 * versions that appear in the repository later are loaded by `sync()`. With batching on, concurrent requests
 * for a version are run together (see services/lib/batching/batcher.ts), one batch at a time. The registry
 * composes the parts: the skew guard (version-skew-guard.ts), loading with provider fallback and warm-up
 * (version-loader.ts), version resolution (version-table.ts), the row cache (cached-infer.ts), the batch's
 * join/split (version-batch.ts) and the statistics (statistics.ts).
 */
export class ModelRegistry {
  private readonly skew: VersionSkewGuard;
  private readonly table: VersionTable;
  private readonly loading = new Map<string, Promise<LoadedVersion>>();
  /** Versions refused because their card names another feature spec than the one in use (key -> message). */
  readonly refused: ReadonlyMap<string, string>;
  /** The champion version of each model, from the serving policy (used when a request names no version). */
  readonly champions: Map<string, string>;
  /** Providers that could not load, with the reason (reported in ServerMetadata). */
  readonly providerFallbacks = new Map<string, string>();
  /** Retired versions (meshctl retire), by "model/version": not loaded by `sync()`, not ready, not announced. */
  private readonly retired = new Set<string>();
  private readonly unloading = new Set<string>();
  private idleTimer: NodeJS.Timeout | undefined;
  /** How an unload drains (tests shorten it). */
  drain: DrainOptions = {};

  constructor(
    private readonly repo: ModelRepository,
    private readonly models: string[],
    private readonly options: RegistryOptions,
    private readonly log: Logger,
  ) {
    this.skew = new VersionSkewGuard(repo, log);
    this.refused = this.skew.refused;
    this.table = new VersionTable(this.skew.refused);
    this.champions = this.table.champions;
  }

  /** Loads every version of every served model not loaded yet. */
  async sync(): Promise<void> {
    const families = this.models.length ? this.models : this.repo.models();
    const jobs: Promise<LoadedVersion | undefined>[] = [];
    for (const model of families)
      for (const version of this.repo.versions(model))
        if (!this.retired.has(versionKey(model, version))) jobs.push(this.load(model, version));
    await Promise.all(jobs);
  }

  /** The version, loaded once however many ask at once; undefined when the skew guard refuses it. */
  private load(model: string, version: string): Promise<LoadedVersion | undefined> {
    const existing = this.table.get(model, version);
    if (existing) return Promise.resolve(existing);
    if (this.skew.refuses(model, version)) return Promise.resolve(undefined);
    const key = versionKey(model, version);
    let p = this.loading.get(key);
    if (!p) {
      p = loadVersion(this.repo, { model, version }, this.options, this.providerFallbacks, this.log)
        .then((lv) => (this.table.add(lv), lv))
        .finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  /** The version a request asks for ("" = the champion). NOT_FOUND when it is not served here. */
  resolve(model: string, version: string): LoadedVersion {
    return this.table.resolve(model, version);
  }

  /**
   * The version a call asks for, as `resolve`; a retired version that is not loaded (any more) but whose files
   * are here is loaded for the call (audit replay scores with the version that decided) and released again after
   * RETIRED_IDLE_MS without calls.
   */
  async resolveForCall(model: string, version: string): Promise<LoadedVersion> {
    const key = versionKey(model, version);
    if (!version || !this.retired.has(key) || this.table.get(model, version)) return this.resolve(model, version);
    if (!this.repo.versions(model).includes(version)) return this.resolve(model, version);
    this.log.info({ model, version }, "loading a retired version for a call that names it (audit replay)");
    await this.load(model, version);
    this.sweepIdle();
    return this.resolve(model, version);
  }

  /**
   * Retires a version: from now on it is not ready (ModelReady), not announced and not loaded by `sync()`; when
   * it is loaded, it is drained and its session released (version-unload.ts). Resolves once released.
   */
  async retire(model: string, version: string): Promise<void> {
    const key = versionKey(model, version);
    this.retired.add(key);
    await this.loading.get(key)?.catch(() => undefined);
    const lv = this.table.get(model, version);
    if (!lv || this.unloading.has(key)) return;
    this.unloading.add(key);
    try {
      const waitedMs = await drainAndRelease(lv, () => this.table.remove(lv), this.drain);
      this.log.info({ model, version, waitedMs }, "retired model version unloaded (session released)");
    } finally {
      this.unloading.delete(key);
    }
  }

  /** True when the version was retired here. */
  isRetired(model: string, version: string): boolean {
    return this.retired.has(versionKey(model, version));
  }

  /** The versions the worker serves and announces: the loaded ones less retired ones loaded for a replay. */
  served(): LoadedVersion[] {
    return this.list().filter((lv) => !this.retired.has(versionKey(lv.model, lv.version)));
  }

  /** Releases retired versions loaded for a call once they had no call for RETIRED_IDLE_MS (checked every 10 s). */
  private sweepIdle(): void {
    if (this.idleTimer) return;
    this.idleTimer = setInterval(() => {
      const idle = this.list().filter(
        (lv) =>
          this.retired.has(versionKey(lv.model, lv.version)) &&
          lv.inFlight === 0 &&
          Date.now() - lv.stats.lastInferenceMs > RETIRED_IDLE_MS,
      );
      for (const lv of idle) void this.retire(lv.model, lv.version);
    }, 10_000);
    this.idleTimer.unref();
  }

  /** True once the version's session is created and warmed up (never for a retired version). */
  isReady(model: string, version: string): boolean {
    if (this.retired.has(versionKey(model, version))) return false;
    try {
      return this.resolve(model, version).ready;
    } catch {
      return false;
    }
  }

  list(): LoadedVersion[] {
    return this.table.list();
  }

  /** The providers the loaded versions run on. */
  providersInUse(): ProviderName[] {
    return [...new Set(this.list().map((v) => v.provider))];
  }

  /**
   * Runs one request of `rows` rows (`data` is row-major [rows, cols]), batched with concurrent requests for
   * the same version when batching is on. Resolves with every output of the model for these rows.
   */
  async infer(lv: LoadedVersion, data: Float32Array, rows: number, opts: InferOptions = {}): Promise<OutputTensor[]> {
    const t0 = performance.now();
    lv.stats.arrived();
    lv.inFlight++;
    try {
      const execute = (d: Float32Array, n: number) => this.execute(lv, d, n, opts);
      const out = lv.cache ? await inferCached(lv, lv.cache, data, rows, execute, t0) : await execute(data, rows);
      lv.stats.success.add(performance.now() - t0);
      return out;
    } catch (err) {
      lv.stats.fail.add(performance.now() - t0);
      throw err;
    } finally {
      lv.inFlight--;
    }
  }

  private execute(lv: LoadedVersion, data: Float32Array, rows: number, opts: InferOptions): Promise<OutputTensor[]> {
    if (lv.batcher) return lv.batcher.submit(data, rows, { deadline: opts.deadline, signal: opts.signal });
    return runAlone(lv, data, rows, performance.now());
  }

  async close(): Promise<void> {
    clearInterval(this.idleTimer);
    for (const lv of this.list()) {
      lv.batcher?.close(new ConnectError("the model worker is shutting down", Code.Unavailable));
      await lv.session.release();
    }
    this.table.clear();
  }
}
