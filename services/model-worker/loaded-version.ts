import type * as ort from "onnxruntime-node";
import type { ModelCard } from "../lib/model/index.js";
import type { Batcher } from "../lib/batching/index.js";
import type { VersionBatching } from "./batching.js";
import type { ProviderName } from "./execution-providers.js";
import type { VersionStatistics } from "./statistics.js";
import type { RowCache } from "./response-cache.js";

/** Output tensor element arrays the worker can return. */
export type OutputArray = Float32Array | Float64Array | Int32Array | BigInt64Array;

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
  /** Calls inside `ModelRegistry.infer` now (an unload waits for them: version-unload.ts). */
  inFlight: number;
}

/** Options of one inference call. */
export interface InferOptions {
  /** `performance.now()` time after which the request is dropped rather than run. */
  deadline?: number;
  signal?: AbortSignal;
}
