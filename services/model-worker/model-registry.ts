import * as ort from "onnxruntime-node";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { type ModelCard, ModelRepository, specHash, specSkew, specSkewError } from "../lib/model/index.js";
import { Batcher, type QueuedRequest } from "../lib/batching/index.js";
import { versionBatching, warmUpSizes, type BatchingDefaults, type VersionBatching } from "./batching.js";
import { createWithFallback, type ProviderName } from "./execution-providers.js";
import { VersionStatistics } from "./statistics.js";
import { RowCache, rowKey } from "./response-cache.js";

/** Output tensor element arrays the worker can return. */
export type OutputArray = Float32Array | Float64Array | Int32Array | BigInt64Array;

/** ONNX Runtime tensor types and their OIP v2 datatypes. */
const OIP_DATATYPE: Record<string, string> = { float32: "FP32", float64: "FP64", int32: "INT32", int64: "INT64" };

/** One output tensor of one request: `rows` × `width` elements, row-major. */
export interface OutputTensor {
  name: string;
  datatype: string;
  width: number;
  data: OutputArray;
}

/** One loaded model version: its ONNX Runtime session (created once), its card and its batcher. */
export interface LoadedVersion {
  model: string;
  version: string;
  card: ModelCard;
  session: ort.InferenceSession;
  /** The execution provider the session runs on. */
  provider: ProviderName;
  /** Width of the input matrix. */
  cols: number;
  inputName: string;
  /** The model's outputs in the card's order. */
  outputNames: string[];
  /** The output the mesh reads the score from. */
  outputName: string;
  batching: VersionBatching;
  /** Present when batching is on. */
  batcher: Batcher<Float32Array, OutputTensor[]> | undefined;
  stats: VersionStatistics;
  /** Outputs of rows already scored (present when WORKER_CACHE_ROWS > 0): one single-row OutputTensor per output. */
  cache: RowCache<OutputTensor[]> | undefined;
  ready: boolean;
}

export interface RegistryOptions {
  sessionOptions: ort.InferenceSession.SessionOptions;
  /** Execution providers to try, in order (the last is "cpu"). */
  providers: ProviderName[];
  batching: BatchingDefaults;
  /** Rows cached per version (0: no cache). */
  cacheRows?: number;
}

/** Options of one inference call. */
export interface InferOptions {
  /** `performance.now()` time after which the request is dropped rather than run. */
  deadline?: number;
  signal?: AbortSignal;
}

/**
 * The worker's model versions. Each version gets one ONNX Runtime session, created once on the first
 * execution provider that loads, and warmed up at every batch size it will run before it reports ready;
 * versions that appear in the repository later are loaded by `sync()`. With batching on, concurrent requests
 * for a version are run together (see services/lib/batching/batcher.ts), one batch at a time.
 */
export class ModelRegistry {
  private readonly versions = new Map<string, LoadedVersion>();
  private readonly loading = new Map<string, Promise<LoadedVersion>>();
  /** The champion version of each model, from the serving policy (used when a request names no version). */
  readonly champions = new Map<string, string>();
  /** Versions refused because their card names another feature spec than the one in use (key -> message). */
  readonly refused = new Map<string, string>();
  private readonly specHashes = new Map<string, string>();
  /** Providers that could not load, with the reason (reported in ServerMetadata). */
  readonly providerFallbacks = new Map<string, string>();

  constructor(
    private readonly repo: ModelRepository,
    private readonly models: string[],
    private readonly options: RegistryOptions,
    private readonly log: Logger,
  ) {}

  /** Loads every version of every served model not loaded yet. */
  async sync(): Promise<void> {
    const families = this.models.length ? this.models : this.repo.models();
    const jobs: Promise<LoadedVersion | undefined>[] = [];
    for (const model of families) for (const version of this.repo.versions(model)) jobs.push(this.load(model, version));
    await Promise.all(jobs);
  }

  private load(model: string, version: string): Promise<LoadedVersion | undefined> {
    const key = `${model}/${version}`;
    const existing = this.versions.get(key);
    if (existing) return Promise.resolve(existing);
    if (this.refused.has(key) || this.refuseIfSkewed(model, version)) return Promise.resolve(undefined);
    let p = this.loading.get(key);
    if (!p) {
      p = this.doLoad(model, version).finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  /**
   * The skew guard: a version whose card names another feature spec than the family's spec.json is never
   * loaded; requests for it get FAILED_PRECONDITION naming both hashes.
   */
  private refuseIfSkewed(model: string, version: string): boolean {
    let inUse = this.specHashes.get(model);
    if (inUse === undefined) {
      inUse = specHash(this.repo.spec(model));
      this.specHashes.set(model, inUse);
    }
    const card = this.repo.card(model, version);
    const problem = specSkew(card, inUse);
    if (!problem) return false;
    this.refused.set(`${model}/${version}`, problem);
    this.log.error({ model, version, cardFeatureSpecHash: card.feature_spec_hash, featureSpecHashInUse: inUse }, problem);
    return true;
  }

  private async doLoad(model: string, version: string): Promise<LoadedVersion> {
    const started = performance.now();
    const card = this.repo.card(model, version);
    const path = this.repo.onnxPath(model, version);
    const choice = await createWithFallback(this.options.providers, (provider) =>
      ort.InferenceSession.create(path, { ...this.options.sessionOptions, executionProviders: [provider] }),
    );
    for (const f of choice.fallbacks) {
      this.providerFallbacks.set(f.provider, f.error);
      this.log.warn({ model, version, provider: f.provider, fellBackTo: choice.provider, error: f.error }, "execution provider could not load; falling back");
    }
    const session = choice.session;
    const input = card.onnx.inputs[0];
    if (!input || card.onnx.inputs.length !== 1) throw new Error(`${model}/${version}: the card must describe exactly one input`);
    const outputNames = card.onnx.outputs.map((o) => o.name).filter((n) => session.outputNames.includes(n));
    if (!outputNames.includes(card.onnx.score_output)) throw new Error(`${model}/${version}: the model has no output ${card.onnx.score_output}`);
    const batching = versionBatching(card, this.options.batching);
    const lv: LoadedVersion = {
      model,
      version,
      card,
      session,
      provider: choice.provider,
      cols: input.shape[1] ?? 0,
      inputName: input.name,
      outputNames,
      outputName: card.onnx.score_output,
      batching,
      batcher: undefined,
      stats: new VersionStatistics(),
      cache: this.options.cacheRows ? new RowCache(this.options.cacheRows) : undefined,
      ready: false,
    };
    if (batching.enabled) {
      lv.batcher = new Batcher((batch) => this.runBatch(lv, batch), {
        maxBatchRows: batching.maxBatchRows,
        maxQueueDelayMs: batching.maxQueueDelayMs,
        preferredBatchRows: batching.preferredBatchRows,
        maxQueueRows: batching.maxQueueRows,
      });
    }
    // Warm-up: run every batch size traffic will use, so the first real call does not pay for allocation.
    // Not counted in the statistics; ModelReady is false until it is done.
    const sizes = warmUpSizes(batching);
    for (const rows of sizes) {
      await session.run({ [lv.inputName]: new ort.Tensor("float32", new Float32Array(rows * lv.cols), [rows, lv.cols]) });
    }
    lv.ready = true;
    this.versions.set(key(model, version), lv);
    this.log.info(
      { model, version, provider: lv.provider, batching: batching.enabled ? batching : false, warmUpSizes: sizes, loadMs: Math.round(performance.now() - started) },
      "model version loaded and warmed up",
    );
    return lv;
  }

  /** The version a request asks for ("" = the champion). NOT_FOUND when it is not served here. */
  resolve(model: string, version: string): LoadedVersion {
    const v = version || this.champions.get(model) || "";
    const lv = this.versions.get(key(model, v));
    const refusal = this.refused.get(key(model, v));
    if (refusal) throw specSkewError(refusal);
    if (!lv) {
      const known = this.list().filter((x) => x.model === model);
      if (known.length === 0) throw new ConnectError(`model ${JSON.stringify(model)} is not served here`, Code.NotFound);
      throw new ConnectError(
        `model ${model} version ${JSON.stringify(v)} is not loaded (loaded: ${known.map((x) => x.version).join(", ")})`,
        Code.NotFound,
      );
    }
    return lv;
  }

  /** True once the version's session is created and warmed up. */
  isReady(model: string, version: string): boolean {
    try {
      return this.resolve(model, version).ready;
    } catch {
      return false;
    }
  }

  list(): LoadedVersion[] {
    return [...this.versions.values()];
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
    try {
      const out = lv.cache ? await this.inferCached(lv, lv.cache, data, rows, opts, t0) : await this.execute(lv, data, rows, opts, t0);
      lv.stats.success.add(performance.now() - t0);
      return out;
    } catch (err) {
      lv.stats.fail.add(performance.now() - t0);
      throw err;
    }
  }

  private async execute(lv: LoadedVersion, data: Float32Array, rows: number, opts: InferOptions, t0: number): Promise<OutputTensor[]> {
    return lv.batcher
      ? lv.batcher.submit(data, rows, { deadline: opts.deadline, signal: opts.signal })
      : (await this.runBatch(lv, [{ input: data, rows, enqueuedAt: t0 }]))[0]!;
  }

  /**
   * Answers the rows found in the cache from it and runs only the others. A request whose rows were all cached
   * counts as a cache hit in the statistics, any other as a miss (Triton counts per request too).
   */
  private async inferCached(
    lv: LoadedVersion,
    cache: RowCache<OutputTensor[]>,
    data: Float32Array,
    rows: number,
    opts: InferOptions,
    t0: number,
  ): Promise<OutputTensor[]> {
    const keys: string[] = [];
    const found: (OutputTensor[] | undefined)[] = [];
    const missing: number[] = [];
    for (let r = 0; r < rows; r++) {
      keys.push(rowKey(data, r, lv.cols));
      const hit = cache.get(keys[r]!);
      found.push(hit);
      if (!hit) missing.push(r);
    }
    let executeMs = 0;
    if (missing.length) {
      let sub = data;
      if (missing.length < rows) {
        sub = new Float32Array(missing.length * lv.cols);
        missing.forEach((r, i) => sub.set(data.subarray(r * lv.cols, (r + 1) * lv.cols), i * lv.cols));
      }
      const t1 = performance.now();
      const out = await this.execute(lv, sub, missing.length, opts, t1);
      executeMs = performance.now() - t1;
      missing.forEach((r, i) => {
        const perRow = out.map((o) => ({ ...o, data: o.data.slice(i * o.width, (i + 1) * o.width) }));
        cache.set(keys[r]!, perRow);
        found[r] = perRow;
      });
    }
    const first = found[0]!;
    const result = first.map((o, j) => {
      const arr = new (o.data.constructor as new (n: number) => OutputArray)(rows * o.width);
      const target = arr as unknown as { set(a: ArrayLike<unknown>, offset: number): void };
      for (let r = 0; r < rows; r++) target.set(found[r]![j]!.data, r * o.width);
      return { name: o.name, datatype: o.datatype, width: o.width, data: arr };
    });
    // Lookup, insertion and assembly time (the model's own time is in the compute statistics).
    const cacheMs = performance.now() - t0 - executeMs;
    if (missing.length) lv.stats.cacheMiss.add(cacheMs);
    else lv.stats.cacheHit.add(cacheMs);
    return result;
  }

  /** One model execution for the requests of a batch; each gets its rows of every output. */
  private async runBatch(lv: LoadedVersion, batch: QueuedRequest<Float32Array>[]): Promise<OutputTensor[][]> {
    const t0 = performance.now();
    for (const r of batch) lv.stats.queue.add(t0 - r.enqueuedAt);
    let rows = 0;
    for (const r of batch) rows += r.rows;
    let data: Float32Array;
    if (batch.length === 1) data = batch[0]!.input;
    else {
      data = new Float32Array(rows * lv.cols);
      let off = 0;
      for (const r of batch) {
        data.set(r.input, off);
        off += r.input.length;
      }
    }
    const feeds = { [lv.inputName]: new ort.Tensor("float32", data, [rows, lv.cols]) };
    const t1 = performance.now();
    const out = await lv.session.run(feeds, lv.outputNames);
    const t2 = performance.now();
    const full = lv.outputNames.map((name) => {
      const t = out[name];
      if (!t) throw new ConnectError(`model output ${name} missing`, Code.Internal);
      const datatype = OIP_DATATYPE[t.type];
      if (!datatype) throw new ConnectError(`model output ${name} has type ${t.type}, which the worker cannot return`, Code.Internal);
      return { name, datatype, width: t.data.length / rows, data: t.data as OutputArray };
    });
    const results: OutputTensor[][] = [];
    let row = 0;
    for (const r of batch) {
      results.push(full.map((o) => ({ ...o, data: o.data.subarray(row * o.width, (row + r.rows) * o.width) })));
      row += r.rows;
    }
    const t3 = performance.now();
    lv.stats.executed(rows, batch.length, t1 - t0, t2 - t1, t3 - t2);
    return results;
  }

  async close(): Promise<void> {
    for (const lv of this.versions.values()) {
      lv.batcher?.close(new ConnectError("the model worker is shutting down", Code.Unavailable));
      await lv.session.release();
    }
    this.versions.clear();
  }
}

function key(model: string, version: string): string {
  return `${model}/${version}`;
}
