import type { Logger } from "pino";
import type { ServiceHost } from "../../lib/service/index.js";
import type { RouterConfig } from "../config.js";
import { WorkerDiscovery } from "./worker-discovery.js";
import { WorkerPool } from "./worker-pool.js";

/**
 * The router's model workers: the listed addresses (ROUTER_WORKER_ADDRS), where an entry dns:///host:port stands
 * for every address the name resolves to, followed every ROUTER_WORKER_RESOLVE_MS.
 */
export async function openWorkers(
  config: RouterConfig,
  host: ServiceHost,
  onHealth: () => void,
  log: Logger,
): Promise<WorkerPool> {
  const credentials = config.tls.channel();
  if (!WorkerDiscovery.needed(config.workerAddrs)) {
    const pool = new WorkerPool(config.workerAddrs, credentials, onHealth, config.workerHealthIntervalMs);
    host.onClose(() => pool.close());
    return pool;
  }
  // Changes reach the pool once it exists (the first one comes after the first set, which builds it).
  const ref: { pool?: WorkerPool } = {};
  const discovery = new WorkerDiscovery(config.workerAddrs, (targets) => ref.pool?.update(targets), {
    intervalMs: config.workerResolveMs,
    log,
  });
  const pool = new WorkerPool(await discovery.start(), credentials, onHealth, config.workerHealthIntervalMs);
  ref.pool = pool;
  host.onClose(() => {
    discovery.close();
    pool.close();
  });
  return pool;
}
