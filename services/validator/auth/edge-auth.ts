import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { NatsConnection } from "nats";
import { TenantStore, UsageStore, type TrustedOperators } from "../../lib/nats/index.js";
import { wallClock } from "../../lib/service/index.js";
import { EdgeGuard } from "./edge-guard.js";
import { QuotaLedger } from "./quota.js";
import { RateLimiter } from "./rate-limiter.js";
import { TenantDirectory } from "./tenant-directory.js";
import { startUsageSync } from "./usage-sync.js";

/** A replica's id in the usage and validator buckets: the host and 4 random bytes (a restart is a new replica). */
export function replicaId(): string {
  return `${hostname().replace(/[^-A-Za-z0-9_]/g, "_")}-${randomBytes(4).toString("hex")}`;
}

/**
 * Tenants and limits at the edge, over the validator's NATS connection (the caller's; it closes it): loads every tenant before it resolves (so a replica never
 * refuses a valid key because it started late), keeps the key directory current from the tenant bucket's watch
 * and shares usage with the other replicas. Only tenants signed by a trusted operator are accepted: a refused
 * value (unsigned, forged, malformed) drops that tenant's keys and is logged once, with the tenant id and why.
 *
 * @example
 *   const auth = await startEdgeAuth(nc, config.trustedOperators, log);
 *   const tenantId = auth.guard.admit(ctx.requestHeader.get("authorization"), model, rows);
 */
export async function startEdgeAuth(
  nc: NatsConnection,
  trusted: TrustedOperators,
  log: Logger,
): Promise<{ guard: EdgeGuard; close(): Promise<void> }> {
  const replica = replicaId();
  const directory = new TenantDirectory();
  const limiter = new RateLimiter();
  const ledger = new QuotaLedger(replica);
  const tenants = await TenantStore.open(nc, { trusted });
  const watch = await tenants.watch(
    (t) => {
      directory.apply(t);
      if (t.revoked) limiter.forget(t.id);
      log.info({ tenant: t.id, revoked: t.revoked, keys: t.keys.length }, "tenant loaded");
    },
    (id) => {
      directory.remove(id);
      limiter.forget(id);
      log.info({ tenant: id }, "tenant removed");
    },
    ({ id, reason }) => {
      if (id === undefined) return log.warn({ err: reason }, "the watch of the tenant bucket failed; retrying");
      directory.remove(id);
      limiter.forget(id);
      log.warn(
        { tenant: id, reason },
        "tenant value refused (not signed by a trusted operator, or invalid); its keys are refused",
      );
    },
  );
  const sync = await startUsageSync({ store: await UsageStore.open(nc), ledger, replica, log });
  log.info({ replica, tenants: directory.size }, "API keys required on every call");
  const guard = new EdgeGuard({ directory, limiter, ledger, replicas: () => sync.replicas(), clock: wallClock });
  return {
    guard,
    close: async () => {
      watch.close();
      await sync.close();
    },
  };
}
