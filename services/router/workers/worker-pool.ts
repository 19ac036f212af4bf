import type { ChannelCredentials } from "@grpc/grpc-js";
import { createClient, type Client } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../../gen/inference/grpc_predict_v2_pb.js";
import { DependencyWatch, createGrpcTransport, type ClosableTransport } from "../../lib/rpc/index.js";
import type { WorkerTarget } from "./worker-discovery.js";
import type { PoolRouting } from "./pool-routing.js";

/** TLS checks a resolved worker by the name it was found under (its certificate names the Service, not the IP). */
const serverNameOptions = (name: string | undefined) =>
  name ? { "grpc.ssl_target_name_override": name, "grpc.default_authority": name } : {};

export interface WorkerEndpoint {
  address: string;
  client: Client<typeof GRPCInferenceService>;
}

/** How long a worker that left the set keeps its channel, so that calls in flight on it can finish. */
const RETIRE_AFTER_MS = 30_000;

/**
 * The model workers a router calls: one grpc-js channel each, their health polled, picked round-robin among
 * those SERVING (all of them when none reports SERVING, rather than refusing outright). The set can change
 * (`update`, from WorkerDiscovery): new workers are dialled, removed ones retired.
 */
export class WorkerPool {
  private endpoints: WorkerEndpoint[] = [];
  private readonly transports = new Map<string, ClosableTransport>();
  private readonly watch: DependencyWatch;
  private readonly retiring = new Set<NodeJS.Timeout>();
  private readonly serverNames = new Map<string, string | undefined>();
  private next = 0;
  private pools: PoolRouting | undefined;

  constructor(
    targets: readonly (string | WorkerTarget)[],
    private readonly credentials: ChannelCredentials,
    onHealth: (anyServing: boolean) => void,
    healthIntervalMs = 500,
  ) {
    const first = targets.map((t) => (typeof t === "string" ? { address: t } : t));
    for (const t of first) this.serverNames.set(t.address, t.serverName);
    this.watch = new DependencyWatch(
      first.map((t) => t.address),
      credentials,
      (any) => onHealth(any),
      healthIntervalMs,
      (address) => serverNameOptions(this.serverNames.get(address)),
    );
    this.update(first);
    this.watch.start();
  }

  /** Dials the targets not in the pool yet and retires the ones no longer in `targets`. */
  update(targets: readonly WorkerTarget[]): void {
    const wanted = new Set(targets.map((t) => t.address));
    for (const t of targets) {
      this.serverNames.set(t.address, t.serverName);
      if (!this.transports.has(t.address)) this.transports.set(t.address, this.dial(t));
    }
    for (const [address, transport] of [...this.transports]) {
      if (wanted.has(address)) continue;
      this.transports.delete(address);
      const timer = setTimeout(() => {
        this.retiring.delete(timer);
        transport.close();
      }, RETIRE_AFTER_MS);
      timer.unref();
      this.retiring.add(timer);
    }
    this.endpoints = [...this.transports.values()].map((t) => ({
      address: t.address,
      client: createClient(GRPCInferenceService, t),
    }));
    this.watch.setAddresses([...wanted]);
  }

  private dial({ address, serverName }: WorkerTarget): ClosableTransport {
    return createGrpcTransport({
      address,
      credentials: this.credentials,
      channelOptions: { "grpc.max_receive_message_length": 64 << 20, ...serverNameOptions(serverName) },
    });
  }

  /** Applies worker pool rules (pool-routing.ts) to the calls that name their model version. */
  usePools(pools: PoolRouting): void {
    this.pools = pools;
  }

  /**
   * Endpoints to try for one call, in order: the serving ones starting round-robin, then the others; for a
   * version with a pool rule, its pool's workers first (pool-routing.ts).
   */
  candidates(model?: string, version?: string): WorkerEndpoint[] {
    const serving = new Set(this.watch.serving());
    const up = this.endpoints.filter((e) => serving.has(e.address));
    const down = this.endpoints.filter((e) => !serving.has(e.address));
    const start = up.length ? this.next++ % up.length : 0;
    const rotated = [...up.slice(start), ...up.slice(0, start)];
    if (this.pools && model !== undefined && version !== undefined)
      return this.pools.order(model, version, rotated, down);
    return [...rotated, ...down];
  }

  /** The endpoints in the pool now. */
  endpointsNow(): readonly WorkerEndpoint[] {
    return this.endpoints;
  }

  /** True when every serving worker (and at least one) has the model version loaded and ready. */
  async ready(model: string, version: string): Promise<boolean> {
    const serving = new Set(this.watch.serving());
    const eps = this.endpoints.filter((e) => serving.has(e.address));
    if (eps.length === 0) return false;
    const answers = await Promise.all(
      eps.map((e) =>
        e.client.modelReady({ name: model, version }, { timeoutMs: 1000 }).then(
          (r) => r.ready,
          () => false,
        ),
      ),
    );
    return answers.every(Boolean);
  }

  anyServing(): boolean {
    return this.watch.anyServing();
  }

  /** The addresses in the pool now. */
  addresses(): string[] {
    return this.endpoints.map((e) => e.address);
  }

  close(): void {
    this.watch.close();
    for (const t of this.transports.values()) t.close();
    for (const timer of this.retiring) clearTimeout(timer);
  }
}
