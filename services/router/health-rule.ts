/** The router's health, as grpc.health.v1 reports it, and why. */
export interface RouterHealth {
  serving: boolean;
  why: string;
}

/**
 * SERVING once every model has a champion: from then on the cascade answers every call, with the rules
 * baseline when no worker can (degraded, and said so in every response).
 *
 * @example
 *   const h = routerHealth(repo.models(), (m) => champions.champion(m), workers.anyServing());
 *   host.setServing(h.serving, h.why);
 */
export function routerHealth(
  models: readonly string[],
  champion: (model: string) => string | undefined,
  anyWorkerServing: boolean,
): RouterHealth {
  const missing = models.filter((m) => champion(m) === undefined);
  if (missing.length) {
    return {
      serving: false,
      why: anyWorkerServing ? `no ready champion yet for ${missing.join(", ")}` : "no model worker is serving",
    };
  }
  return {
    serving: true,
    why: anyWorkerServing
      ? "champions ready on the workers"
      : "no model worker is serving: decisions are degraded (fallback cascade)",
  };
}
