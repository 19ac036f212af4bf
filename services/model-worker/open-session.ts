import * as ort from "onnxruntime-node";
import type { Logger } from "pino";
import { createWithFallback, type ProviderName } from "./execution-providers.js";

export interface SessionOptions {
  sessionOptions: ort.InferenceSession.SessionOptions;
  /** Execution providers to try, in order (the last is "cpu"). */
  providers: ProviderName[];
}

/**
 * The ONNX Runtime session of one model version, on the first execution provider that loads. Each provider that
 * could not load is logged and kept in `fallbacks` with the reason (reported in ServerMetadata).
 */
export async function openSession(
  path: string,
  o: SessionOptions,
  fallbacks: Map<string, string>,
  log: Logger,
  where: { model: string; version: string },
): Promise<{ session: ort.InferenceSession; provider: ProviderName }> {
  const choice = await createWithFallback(o.providers, (provider) =>
    ort.InferenceSession.create(path, { ...o.sessionOptions, executionProviders: [provider] }),
  );
  for (const f of choice.fallbacks) {
    fallbacks.set(f.provider, f.error);
    log.warn(
      { ...where, provider: f.provider, fellBackTo: choice.provider, error: f.error },
      "execution provider could not load; falling back",
    );
  }
  return { session: choice.session, provider: choice.provider };
}
