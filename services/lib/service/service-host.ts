import * as grpc from "@grpc/grpc-js";
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import {
  addService,
  dialAddresses,
  InProcessServer,
  inProcessCallsEnabled,
  registerInProcess,
  RpcServerMetrics,
  type InFlight,
} from "../rpc/index.js";
import { startMetricsServer, type MetricsServer, type ServiceMetrics } from "./metrics.js";

export interface ServiceHostOptions {
  /** The service's short name, e.g. "router". */
  name: string;
  /** host:port to listen on; port 0 picks a free port. */
  address: string;
  /** How the main port serves: `MeshCredentials.server()` (mutual TLS, or plaintext with TLS_MODE=off). */
  credentials: grpc.ServerCredentials;
  /** A plaintext listener serving only grpc.health.v1, with the main port's statuses (for Kubernetes' probes). */
  healthAddress?: string;
  log: Logger;
  /** How long SIGTERM waits for calls in flight before cancelling them. */
  drainTimeoutMs?: number;
  serverOptions?: grpc.ServerOptions;
  /** The process's metrics: every RPC served is counted there, and served on its address (if any) from listen(). */
  metrics?: ServiceMetrics;
}

/**
 * Clients reconnect every few minutes (after a grace period for calls in flight), so that a client balancing over a
 * dns:/// name re-resolves it and new replicas get traffic without anyone restarting.
 */
const RECONNECT_EVERY: grpc.ServerOptions = {
  "grpc.max_connection_age_ms": 300_000,
  "grpc.max_connection_age_grace_ms": 30_000,
};

/**
 * The skeleton every scoremesh service shares: one grpc-js server with `grpc.health.v1` (from the
 * grpc-health-check package) that reports NOT_SERVING until the service says it can do its job, and a
 * `close()` that flips health to NOT_SERVING, stops accepting calls, drains those in flight, then closes the
 * resources registered with `onClose` (last registered, first closed).
 *
 * @example
 *   const host = new ServiceHost({ name: "router", address: config.address, credentials: config.tls.server(), log });
 *   host.add(RouterService, routes);
 *   await host.listen();
 *   host.setServing(true);
 */
export class ServiceHost {
  readonly server: grpc.Server;
  /** The plaintext health-only server (when `healthAddress` is set). */
  private readonly healthServer?: grpc.Server;
  readonly inFlight: InFlight = { count: 0 };
  private readonly health = new HealthImplementation({ "": "NOT_SERVING" });
  private readonly serviceNames: string[] = [];
  private readonly closers: (() => unknown)[] = [];
  private serving = false;
  /** The reason given for NOT_SERVING last logged: a new one is logged too, so a service's log says why it waits. */
  private notServingWhy?: string;
  private closing?: Promise<void>;
  /** The port actually bound (useful with port 0). */
  port = 0;
  private readonly rpcMetrics?: RpcServerMetrics;
  private metricsServer?: MetricsServer;
  /** Monolithic mode: the same handlers, callable by the other services of this process (in-process.ts). */
  private readonly inProcess?: InProcessServer;
  private unregisterInProcess?: () => void;

  constructor(readonly opts: ServiceHostOptions) {
    this.server = new grpc.Server({ ...RECONNECT_EVERY, ...opts.serverOptions });
    this.health.addToServer(this.server);
    if (opts.metrics) this.rpcMetrics = new RpcServerMetrics(opts.metrics.registry);
    if (inProcessCallsEnabled())
      this.inProcess = new InProcessServer({
        log: opts.log,
        inFlight: this.inFlight,
        ...(this.rpcMetrics ? { metrics: this.rpcMetrics } : {}),
      });
    if (opts.healthAddress !== undefined) {
      this.healthServer = new grpc.Server();
      this.health.addToServer(this.healthServer);
    }
  }

  /** Serves a connect-es ServiceImpl on this host's gRPC server. */
  add<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): this {
    addService(this.server, service, impl, {
      log: this.opts.log,
      inFlight: this.inFlight,
      ...(this.rpcMetrics ? { metrics: this.rpcMetrics } : {}),
    });
    this.inProcess?.add(service, impl);
    this.serviceNames.push(service.typeName);
    this.health.setStatus(service.typeName, "NOT_SERVING");
    return this;
  }

  async listen(): Promise<number> {
    this.port = await bind(this.server, this.opts.address, this.opts.credentials);
    this.opts.log.info({ address: this.opts.address, port: this.port }, "listening");
    if (this.inProcess)
      this.unregisterInProcess = registerInProcess(dialAddresses(this.opts.address, this.port), this.inProcess);
    if (this.healthServer && this.opts.healthAddress !== undefined) {
      const address = this.opts.healthAddress;
      const port = await bind(this.healthServer, address, grpc.ServerCredentials.createInsecure());
      this.opts.log.info({ address, port }, "plaintext health port listening (grpc.health.v1 only)");
    }
    await this.listenMetrics();
    return this.port;
  }

  /** The port of the metrics listener (0: none). */
  get metricsPort(): number {
    return this.metricsServer?.port ?? 0;
  }

  private async listenMetrics(): Promise<void> {
    const address = this.opts.metrics?.address;
    if (!this.opts.metrics || address === undefined) return;
    this.metricsServer = await startMetricsServer(this.opts.metrics.registry, address);
    this.opts.log.info({ address, port: this.metricsServer.port }, "metrics listening (plaintext HTTP, GET /metrics)");
  }

  /** Sets the health of the whole server ("") and of every service it serves. */
  setServing(serving: boolean, why?: string): void {
    const changed = serving !== this.serving;
    const newReason = !serving && why !== undefined && why !== this.notServingWhy;
    if (this.closing || (!changed && !newReason)) return;
    this.serving = serving;
    this.notServingWhy = serving ? undefined : why;
    const status = serving ? "SERVING" : "NOT_SERVING";
    this.health.setStatus("", status);
    for (const name of this.serviceNames) this.health.setStatus(name, status);
    this.opts.log.info({ health: status, why }, changed ? "health changed" : "not serving");
  }

  /**
   * Reports the health of one part of the service under its own grpc.health.v1 name (e.g. a model version the
   * worker refuses to serve: "model:credit-default/5"), without changing the server's overall status.
   */
  setPartStatus(name: string, serving: boolean): void {
    this.health.setStatus(name, serving ? "SERVING" : "NOT_SERVING");
  }

  isServing(): boolean {
    return this.serving && !this.closing;
  }

  /** Registers a resource to close after the server has drained. */
  onClose(fn: () => unknown): void {
    this.closers.push(fn);
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const log = this.opts.log;
    this.health.setStatus("", "NOT_SERVING");
    for (const name of this.serviceNames) this.health.setStatus(name, "NOT_SERVING");
    log.info({ inFlight: this.inFlight.count }, "shutting down: NOT_SERVING, draining calls in flight");
    const inProcessDrained = this.inProcess?.drain();
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.opts.drainTimeoutMs ?? 10_000);
      this.server.tryShutdown(() => {
        void Promise.resolve(inProcessDrained).then(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    });
    this.unregisterInProcess?.();
    if (!drained) {
      log.warn({ inFlight: this.inFlight.count }, "drain timed out; cancelling the calls left");
      this.server.forceShutdown();
    }
    // Health checks are short: the health-only port closes at once, its answers already NOT_SERVING.
    this.healthServer?.forceShutdown();
    await this.metricsServer?.close();
    for (const fn of this.closers.reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn({ err }, "error while closing a resource");
      }
    }
    log.info("stopped");
  }
}

function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port))),
  );
}
