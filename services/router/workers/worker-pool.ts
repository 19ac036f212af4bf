import type { ChannelCredentials } from "@grpc/grpc-js";
import { createClient, type Client } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../../gen/inference/grpc_predict_v2_pb.js";
import { DependencyWatch, createGrpcTransport, type ClosableTransport } from "../../lib/rpc/index.js";

export interface WorkerEndpoint {
  address: string;
  client: Client<typeof GRPCInferenceService>;
}

/**
 * The model workers a router calls: one grpc-js channel each, their health polled, picked round-robin among
 * those SERVING (all of them when none reports SERVING, rather than refusing outright).
 */
export class WorkerPool {
  private readonly endpoints: WorkerEndpoint[];
  private readonly transports: ClosableTransport[];
  private readonly watch: DependencyWatch;
  private next = 0;

  constructor(
    addresses: string[],
    credentials: ChannelCredentials,
    onHealth: (anyServing: boolean) => void,
    healthIntervalMs = 500,
  ) {
    this.transports = addresses.map((address) =>
      createGrpcTransport({ address, credentials, channelOptions: { "grpc.max_receive_message_length": 64 << 20 } }),
    );
    this.endpoints = this.transports.map((t) => ({
      address: t.address,
      client: createClient(GRPCInferenceService, t),
    }));
    this.watch = new DependencyWatch(addresses, credentials, (any) => onHealth(any), healthIntervalMs).start();
  }

  /** Endpoints to try for one call, in order: the serving ones starting round-robin, then the others. */
  candidates(): WorkerEndpoint[] {
    const serving = new Set(this.watch.serving());
    const up = this.endpoints.filter((e) => serving.has(e.address));
    const down = this.endpoints.filter((e) => !serving.has(e.address));
    const start = up.length ? this.next++ % up.length : 0;
    return [...up.slice(start), ...up.slice(0, start), ...down];
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

  close(): void {
    this.watch.close();
    for (const t of this.transports) t.close();
  }
}
