import type { Logger } from "pino";
import { Batcher, type BatcherOptions } from "../lib/batching/index.js";
import type { ModelRepository } from "../lib/model/index.js";
import { versionBatching, type BatchingDefaults } from "./batching.js";
import type { LoadedVersion } from "./loaded-version.js";
import { openSession, type SessionOptions } from "./open-session.js";
import { RowCache } from "./response-cache.js";
import { VersionStatistics } from "./statistics.js";
import { runVersionBatch } from "./version-batch.js";
import { warmUp } from "./warm-up.js";

export interface LoaderOptions extends SessionOptions {
  batching: BatchingDefaults;
  /** Rows cached per version (0: no cache). */
  cacheRows?: number;
  /** Told the rows of each batch a version runs (the worker's batch size histogram). */
  onBatch?: (rows: number) => void;
}

/**
 * Loads one model version: its session on the first provider that loads (fallbacks recorded in `fallbacks`),
 * checked against its card, with its batcher and row cache, and warmed up at every batch size it will run.
 */
export async function loadVersion(
  repo: ModelRepository,
  where: { model: string; version: string },
  o: LoaderOptions,
  fallbacks: Map<string, string>,
  log: Logger,
): Promise<LoadedVersion> {
  const { model, version } = where;
  const started = performance.now();
  const card = repo.card(model, version);
  const { session, provider } = await openSession(repo.onnxPath(model, version), o, fallbacks, log, where);
  const input = card.onnx.inputs[0];
  if (!input || card.onnx.inputs.length !== 1)
    throw new Error(`${model}/${version}: the card must describe exactly one input`);
  const outputNames = card.onnx.outputs.map((x) => x.name).filter((n) => session.outputNames.includes(n));
  if (!outputNames.includes(card.onnx.score_output))
    throw new Error(`${model}/${version}: the model has no output ${card.onnx.score_output}`);
  const batching = versionBatching(card, o.batching);
  const lv: LoadedVersion = {
    ...where,
    card,
    session,
    provider,
    cols: input.shape[1] ?? 0,
    inputName: input.name,
    outputNames,
    outputName: card.onnx.score_output,
    batching,
    batcher: undefined,
    stats: new VersionStatistics(),
    cache: o.cacheRows ? new RowCache(o.cacheRows) : undefined,
    ready: false,
    inFlight: 0,
  };
  if (batching.enabled)
    lv.batcher = new Batcher((batch) => runVersionBatch(lv, batch), {
      ...batcherOptions(lv),
      ...(o.onBatch ? { onBatch: o.onBatch } : {}),
    });
  // ModelReady is false until the warm-up is done.
  const sizes = await warmUp(lv);
  lv.ready = true;
  log.info(
    {
      model,
      version,
      provider,
      batching: batching.enabled ? batching : false,
      warmUpSizes: sizes,
      loadMs: Math.round(performance.now() - started),
    },
    "model version loaded and warmed up",
  );
  return lv;
}

/** The version's batcher settings: one batch at a time (the session runs one at a time anyway). */
function batcherOptions({ batching }: LoadedVersion): BatcherOptions {
  const { maxBatchRows, maxQueueDelayMs, preferredBatchRows, maxQueueRows } = batching;
  return { maxBatchRows, maxQueueDelayMs, preferredBatchRows, maxQueueRows };
}
