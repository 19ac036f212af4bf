import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import { ModelSync } from "../lib/nats/index.js";
import type { ModelRegistry } from "./model-registry.js";

/**
 * Follows the model object store (meshctl publish): each version published there is downloaded into the worker's
 * model cache (SHA-256 checked), then loaded and warmed up like any version of the repository (`registry.sync()`,
 * which the skew guard still checks), and the worker's record says it is ready (`loaded`). No restart. A version
 * retired there (meshctl retire) is drained and unloaded, and the record no longer lists it; its files stay in the
 * cache, so a call that names it (audit replay) can still load it (ModelRegistry.resolveForCall).
 */
export function followPublished(
  nc: NatsConnection,
  cacheDir: string,
  parts: { registry: ModelRegistry; models: () => readonly string[]; loaded: () => void },
  log: Logger,
): ModelSync {
  return new ModelSync({
    nc,
    cacheDir,
    models: parts.models,
    onVersion: (model, version) => {
      log.info({ model, version }, "loading a published model version");
      parts.registry
        .sync()
        .then(parts.loaded)
        .catch((err: unknown) => log.error({ err, model, version }, "loading a published model version failed"));
    },
    onRetired: ({ model, version }) => {
      parts.loaded(); // the record drops it now (not ready), before the drain ends
      parts.registry
        .retire(model, version)
        .then(parts.loaded)
        .catch((err: unknown) => log.error({ err, model, version }, "unloading a retired model version failed"));
    },
    log,
  }).start();
}
