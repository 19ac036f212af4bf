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
  standInFor: (model: string) => string | undefined = () => undefined,
): RouterHealth {
  const missing = models.filter((m) => champion(m) === undefined);
  if (missing.length) {
    return {
      serving: false,
      why: anyWorkerServing ? `no ready champion yet for ${missing.join(", ")}` : "no model worker is serving",
    };
  }
  const standIns = models.filter((m) => standInFor(m) !== undefined).map((m) => `${m}: ${standInFor(m)}`);
  const why = anyWorkerServing
    ? "champions ready on the workers"
    : "no model worker is serving: decisions are degraded (fallback cascade)";
  return {
    serving: true,
    why: standIns.length ? `${why}; degraded, serving a stand-in version (${standIns.join("; ")})` : why,
  };
}
