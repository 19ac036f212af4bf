import type { Logger } from "pino";
import { readConfig as readFeature } from "../feature/config.js";
import { startFeature } from "../feature/server.js";
import { enableInProcessCalls } from "../lib/rpc/index.js";
import {
  collectProcessMetricsOnlyIn,
  ConfigError,
  createLogger,
  EnvReader,
  type Closable,
  type ServiceHost,
} from "../lib/service/index.js";
import { readConfig as readWorker } from "../model-worker/config.js";
import { startWorker } from "../model-worker/server.js";
import { readConfig as readMonitor } from "../monitor/config.js";
import { startMonitor } from "../monitor/server.js";
import { readConfig as readRouter } from "../router/config.js";
import { startRouter } from "../router/server.js";
import { readConfig as readValidator } from "../validator/config.js";
import { startValidator } from "../validator/server.js";
import { MONOLITH_SERVICES, MONOLITH_STOP_ORDER, type MonolithConfig, type MonolithService } from "./config.js";

/** How each service reads its config and starts: what its own main.ts does. */
const STARTERS: Record<MonolithService, (env: EnvReader, log: Logger) => Promise<ServiceHost>> = {
  "model-worker": (env, log) => startWorker(readWorker(env), log),
  monitor: (env, log) => startMonitor(readMonitor(env), log),
  router: (env, log) => startRouter(readRouter(env), log),
  feature: (env, log) => startFeature(readFeature(env), log),
  validator: (env, log) => startValidator(readValidator(env), log),
};

/**
 * Monolithic mode: the five services in this one process, each started exactly as its own process would be (its
 * own environment, logger, NATS identity and connection, listeners and health), the hops between them made in
 * process (services/lib/rpc/in-process.ts). Its external surface is the microservices mode's. close() stops them
 * one by one, the edge first and the monitor last, each draining its calls in flight.
 */
export async function startMonolith(config: MonolithConfig, log: Logger): Promise<Closable> {
  enableInProcessCalls();
  // The monitor collects the process's default metrics (prefixed scoremesh_monitor_): counted once, not five times.
  collectProcessMetricsOnlyIn("monitor");
  const hosts = new Map<MonolithService, ServiceHost>();
  const close = async () => {
    for (const service of MONOLITH_STOP_ORDER) {
      const host = hosts.get(service);
      if (!host) continue;
      log.info({ stopping: service }, "stopping");
      await host.close();
    }
  };
  for (const service of MONOLITH_SERVICES) {
    const env = new EnvReader({ ...process.env, ...config.envs[service] });
    const serviceLog = createLogger(service, config.envs[service]["LOG_LEVEL"] ?? process.env["LOG_LEVEL"]);
    try {
      hosts.set(service, await STARTERS[service](env, serviceLog));
    } catch (err) {
      log.error(
        { service, ...(err instanceof ConfigError ? { variable: err.variable } : {}) },
        `${service} did not start`,
      );
      await close();
      throw err;
    }
  }
  log.info({ services: MONOLITH_SERVICES }, "monolithic mode: the five services run in this process");
  return { close };
}
