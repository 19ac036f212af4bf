import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** Execution providers the worker knows how to ask ONNX Runtime for, best first. */
export const KNOWN_PROVIDERS = ["cuda", "tensorrt", "cpu"] as const;
export type ProviderName = (typeof KNOWN_PROVIDERS)[number];

/**
 * Whether onnxruntime-node's CUDA provider library is installed next to its binding. It is not in the npm
 * package: its install script fetches it from NuGet when asked (`ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci`; our .npmrc
 * says `skip`, which the variable overrides).
 */
export function cudaProviderInstalled(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const pkg = dirname(require.resolve("onnxruntime-node/package.json"));
    return existsSync(join(pkg, "bin", "napi-v6", process.platform, process.arch, "libonnxruntime_providers_cuda.so"));
  } catch {
    return false;
  }
}

/**
 * The providers to try, from the WORKER_EXECUTION_PROVIDERS setting: "auto" is `cuda,cpu` where the CUDA
 * provider is installed and `cpu` elsewhere; otherwise a comma-separated list, tried in order. CPU always
 * ends the list, so a provider that cannot load falls back to it.
 */
export function providerList(setting: string, cudaInstalled = cudaProviderInstalled()): ProviderName[] {
  const asked =
    setting === "auto"
      ? cudaInstalled
        ? ["cuda", "cpu"]
        : ["cpu"]
      : setting
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
  const out: ProviderName[] = [];
  for (const p of asked)
    if ((KNOWN_PROVIDERS as readonly string[]).includes(p) && !out.includes(p as ProviderName))
      out.push(p as ProviderName);
  if (!out.includes("cpu")) out.push("cpu");
  return out;
}

/** What a session was created with, and why the providers before it were skipped. */
export interface ProviderChoice<S> {
  session: S;
  provider: ProviderName;
  /** Providers that failed to load, with the error; empty when the first choice worked. */
  fallbacks: { provider: ProviderName; error: string }[];
}

/**
 * Creates a session with the first provider of `providers` that loads. ONNX Runtime refuses a whole
 * provider list when one provider's library is missing (rather than skipping it), so each is tried on its own.
 */
export async function createWithFallback<S>(
  providers: ProviderName[],
  create: (provider: ProviderName) => Promise<S>,
): Promise<ProviderChoice<S>> {
  const fallbacks: ProviderChoice<S>["fallbacks"] = [];
  for (const provider of providers) {
    try {
      return { session: await create(provider), provider, fallbacks };
    } catch (err) {
      fallbacks.push({ provider, error: (err as Error).message.split("\n")[0] ?? String(err) });
    }
  }
  const last = fallbacks[fallbacks.length - 1];
  throw new Error(
    `no execution provider could load the model (${fallbacks.map((f) => `${f.provider}: ${f.error}`).join("; ")})`,
    {
      cause: last,
    },
  );
}
