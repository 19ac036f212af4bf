import { Code } from "@connectrpc/connect";
import { Counter, Histogram, type Registry } from "prom-client";

/** gRPC status codes as Prometheus label values: "OK", "INVALID_ARGUMENT", ... (the names grpc-go uses). */
export const GRPC_CODE_NAMES: readonly string[] = Array.from({ length: 17 }, (_, c) =>
  c === 0 ? "OK" : (Code[c] ?? String(c)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(),
);

/** The label value of a gRPC status code; an unknown number is kept as digits. */
export function grpcCodeName(code: number): string {
  return GRPC_CODE_NAMES[code] ?? String(code);
}

/** Latency buckets of a hop, seconds: from half a millisecond to 2.5 s. */
export const RPC_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The counting of one method, its label children bound once: O(1) per call, no label lookup. */
export interface MethodMetrics {
  /** Counts one answered call with its gRPC code and its duration in seconds. */
  done(code: number, seconds: number): void;
}

/**
 * The server side of every RPC a process serves (one place: addService), named after the OpenTelemetry RPC
 * conventions: `rpc_server_requests_total{rpc_service, rpc_method, grpc_code}` and
 * `rpc_server_duration_seconds{rpc_service, rpc_method}`. Errors are the requests whose grpc_code is not OK.
 *
 * @example
 *   const m = new RpcServerMetrics(registry).method("scoremesh.router.v1.RouterService", "Route");
 *   m.done(0, 0.002);
 */
export class RpcServerMetrics {
  private readonly duration: Histogram<"rpc_service" | "rpc_method">;
  /** Answers per method and code, plain numbers: read into the counter at a scrape (no label hashing per call). */
  private readonly counts: { service: string; method: string; byCode: number[] }[] = [];

  constructor(registry: Registry) {
    const counts = this.counts;
    new Counter({
      name: "rpc_server_requests_total",
      help: "RPCs answered by this process's gRPC server, by service, method and gRPC status code.",
      labelNames: ["rpc_service", "rpc_method", "grpc_code"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const { service, method, byCode } of counts)
          byCode.forEach((n, code) => {
            if (n > 0 || code === 0)
              this.inc({ rpc_service: service, rpc_method: method, grpc_code: grpcCodeName(code) }, n);
          });
      },
    });
    this.duration = new Histogram({
      name: "rpc_server_duration_seconds",
      help: "Time from a call's arrival at the handler to its answer, by service and method.",
      labelNames: ["rpc_service", "rpc_method"] as const,
      buckets: RPC_DURATION_BUCKETS,
      registers: [registry],
    });
  }

  /** The counters of one method; its OK series shows 0 before the first call. */
  method(service: string, method: string): MethodMetrics {
    const byCode: number[] = new Array<number>(17).fill(0);
    this.counts.push({ service, method, byCode });
    const hist = this.duration.labels({ rpc_service: service, rpc_method: method });
    return {
      done(code, seconds) {
        byCode[code] = (byCode[code] ?? 0) + 1;
        hist.observe(seconds);
      },
    };
  }
}
