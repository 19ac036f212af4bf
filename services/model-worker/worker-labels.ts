import { ConfigError, type EnvReader } from "../lib/service/index.js";
import { labelProblem } from "../lib/nats/index.js";
import type { ProviderName } from "./execution-providers.js";

/** WORKER_LABELS: the worker's pool labels, each checked (lower-case letters, digits, '-'); [] when unset. */
export function readWorkerLabels(env: EnvReader): string[] {
  const labels = env.list("WORKER_LABELS");
  for (const l of labels) {
    const bad = labelProblem(l, "each label");
    if (bad) throw new ConfigError("WORKER_LABELS", bad);
  }
  return labels;
}

/**
 * The labels a worker carries: WORKER_LABELS when set; otherwise derived from the providers its versions run on,
 * "gpu" when one runs on CUDA or TensorRT, else "cpu" (so a worker whose CUDA provider fell back is "cpu"). Pure.
 */
export function workerLabels(configured: readonly string[], providersInUse: readonly ProviderName[]): string[] {
  if (configured.length > 0) return [...configured];
  return providersInUse.some((p) => p === "cuda" || p === "tensorrt") ? ["gpu"] : ["cpu"];
}
