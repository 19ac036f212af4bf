import * as ort from "onnxruntime-node";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { ModelCard } from "../lib/model-card.js";
import { ModelRepository } from "../lib/model-repository.js";

/** One loaded model version: its ONNX Runtime session (created once) and its card. */
export interface LoadedVersion {
  model: string;
  version: string;
  card: ModelCard;
  session: ort.InferenceSession;
  /** Width of the input matrix. */
  cols: number;
  inputName: string;
  outputName: string;
  ready: boolean;
}

/**
 * The worker's model versions. Each version gets one ONNX Runtime session, created once and warmed up before
 * it reports ready; versions that appear in the repository later are loaded by `sync()`.
 */
export class ModelRegistry {
  private readonly versions = new Map<string, LoadedVersion>();
  private readonly loading = new Map<string, Promise<LoadedVersion>>();
  /** The champion version of each model, from the serving policy (used when a request names no version). */
  readonly champions = new Map<string, string>();

  constructor(
    private readonly repo: ModelRepository,
    private readonly models: string[],
    private readonly sessionOptions: ort.InferenceSession.SessionOptions,
    private readonly log: Logger,
  ) {}

  /** Loads every version of every served model not loaded yet. */
  async sync(): Promise<void> {
    const families = this.models.length ? this.models : this.repo.models();
    const jobs: Promise<LoadedVersion>[] = [];
    for (const model of families) for (const version of this.repo.versions(model)) jobs.push(this.load(model, version));
    await Promise.all(jobs);
  }

  private load(model: string, version: string): Promise<LoadedVersion> {
    const key = `${model}/${version}`;
    const existing = this.versions.get(key);
    if (existing) return Promise.resolve(existing);
    let p = this.loading.get(key);
    if (!p) {
      p = this.doLoad(model, version).finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  private async doLoad(model: string, version: string): Promise<LoadedVersion> {
    const started = performance.now();
    const card = this.repo.card(model, version);
    const session = await ort.InferenceSession.create(this.repo.onnxPath(model, version), this.sessionOptions);
    const input = card.onnx.inputs[0];
    if (!input || card.onnx.inputs.length !== 1) throw new Error(`${model}/${version}: the card must describe exactly one input`);
    const lv: LoadedVersion = {
      model,
      version,
      card,
      session,
      cols: input.shape[1] ?? 0,
      inputName: input.name,
      outputName: card.onnx.score_output,
      ready: false,
    };
    // Warm-up: run the sizes that traffic will use, so the first real call does not pay for allocation.
    for (const rows of [1, 8, 64]) {
      await session.run({ [lv.inputName]: new ort.Tensor("float32", new Float32Array(rows * lv.cols), [rows, lv.cols]) });
    }
    lv.ready = true;
    this.versions.set(`${model}/${version}`, lv);
    this.log.info({ model, version, loadMs: Math.round(performance.now() - started) }, "model version loaded and warmed up");
    return lv;
  }

  /** The version a request asks for ("" = the champion). NOT_FOUND when it is not served here. */
  resolve(model: string, version: string): LoadedVersion {
    const v = version || this.champions.get(model) || "";
    const lv = this.versions.get(`${model}/${v}`);
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

  /** Runs one batch. `data` is row-major [rows, cols]. */
  async run(lv: LoadedVersion, data: Float32Array, rows: number): Promise<Float32Array> {
    const out = await lv.session.run({ [lv.inputName]: new ort.Tensor("float32", data, [rows, lv.cols]) });
    const t = out[lv.outputName];
    if (!t) throw new ConnectError(`model output ${lv.outputName} missing`, Code.Internal);
    return t.data as Float32Array;
  }

  async close(): Promise<void> {
    for (const lv of this.versions.values()) await lv.session.release();
    this.versions.clear();
  }
}
