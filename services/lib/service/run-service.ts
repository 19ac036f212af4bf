import type { Logger } from "pino";
import { ConfigError } from "./config.js";
import { createLogger } from "./logger.js";
import { startTelemetry } from "./telemetry.js";

/** Something a service's main can stop. */
export interface Closable {
  close(): Promise<void>;
}

/**
 * The whole of a service's main: telemetry first, then the logger, then `start` (which reads its config and
 * builds the server), then signals. SIGTERM or SIGINT closes the service gracefully and exits 0; a
 * configuration error exits 2 naming the variable; any other start-up failure exits 1.
 */
export async function runService(name: string, start: (log: Logger) => Promise<Closable>): Promise<void> {
  const telemetry = startTelemetry(name);
  const log = createLogger(name);
  let service: Closable;
  try {
    service = await start(log);
  } catch (err) {
    if (err instanceof ConfigError) {
      log.fatal({ variable: err.variable }, `configuration error: ${err.message}`);
      process.exitCode = 2;
    } else {
      log.fatal({ err }, "failed to start");
      process.exitCode = 1;
    }
    await telemetry.shutdown().catch(() => undefined);
    setTimeout(() => process.exit(), 100).unref();
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "signal received");
    service
      .close()
      .catch((err: unknown) => log.error({ err }, "error during shutdown"))
      .finally(() => {
        void telemetry.shutdown().finally(() => process.exit(0));
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
