import { createServer, type Server } from "node:http";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { EnvReader } from "./config.js";

/**
 * `<PREFIX>_METRICS_ADDR` (e.g. ROUTER_METRICS_ADDR): the plaintext HTTP listener serving Prometheus metrics on
 * GET /metrics. Unset: no listener. Checked at start (host:port, port 0 picks a free one).
 */
export function readMetricsAddress(env: EnvReader, prefix: string): { metricsAddress?: string } {
  const name = `${prefix}_METRICS_ADDR`;
  return env.optional(name) === undefined ? {} : { metricsAddress: env.address(name) };
}

/** Monolithic mode: the one service whose registry carries the process's default metrics (see ServiceMetrics). */
let processMetricsOwner: string | undefined;

/**
 * Monolithic mode (services/monolith): five services share one process, so its CPU, memory and event-loop
 * metrics are collected once, by `owner`'s registry, not five times (the monitor's cost report sums them).
 */
export function collectProcessMetricsOnlyIn(owner: string): void {
  processMetricsOwner = owner;
}

/**
 * A process's Prometheus registry: the default Node metrics (CPU, memory, event loop, GC) and every series
 * labelled `service` with the service's name, and where it is served (`address`; none: counted, not served).
 *
 * @example
 *   const metrics = new ServiceMetrics("router", config.metricsAddress);
 *   new Counter({ name: "x_total", help: "…", registers: [metrics.registry] });
 */
export class ServiceMetrics {
  readonly registry: Registry;

  constructor(
    readonly service: string,
    readonly address?: string,
    registry?: Registry,
  ) {
    if (registry) {
      this.registry = registry;
      return;
    }
    this.registry = new Registry();
    this.registry.setDefaultLabels({ service });
    if (processMetricsOwner === undefined || processMetricsOwner === service)
      collectDefaultMetrics({ register: this.registry });
  }
}

/** A running metrics listener. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `registry` on GET /metrics (and HEAD); any other path is 404, any other method 405. Plaintext HTTP. */
export function startMetricsServer(registry: Registry, address: string): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") return void res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    if (req.method !== "GET" && req.method !== "HEAD")
      return void res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? "" : text),
      () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
    );
  });
  return listen(server, address);
}

function listen(server: Server, address: string): Promise<MetricsServer> {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(address.slice(i + 1)), host, () => {
      server.off("error", reject);
      const addr = server.address();
      resolve({
        port: typeof addr === "object" && addr ? addr.port : 0,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
