import { ConnectError, createContextKey, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { DescService } from "@bufbuild/protobuf";
import { Counter, Histogram, type Registry } from "prom-client";
import { grpcCodeName, RPC_DURATION_BUCKETS } from "../lib/rpc/index.js";
import { TenantLabel } from "../lib/service/index.js";

/** The tenant of an admitted call, set by the routes once the edge guard has admitted it. */
export const EDGE_TENANT = createContextKey<string>("", { description: "tenant of the call" });

/** Refusals of the edge guard that know their tenant (rate, quota, model, batch): the tenant they were refused to. */
const refusedTenants = new WeakMap<object, string>();

/** Marks `error` as a refusal of `tenantId` (for the edge's metrics), and returns it. */
export function refusalOf(error: ConnectError, tenantId: string): ConnectError {
  refusedTenants.set(error, tenantId);
  return error;
}

export type Listener = "grpc" | "http";
type Labels = "listener" | "rpc_method" | "grpc_code" | "tenant" | "model";

/**
 * The public edge's metrics, on both listeners: `scoremesh_edge_requests_total{listener, rpc_method, grpc_code,
 * tenant, model}` (every answer, refusals included: authentication, tenant rate and quota, admission overload)
 * and `scoremesh_edge_duration_seconds{listener, rpc_method}`. Tenant and model are bounded label sets: the first
 * 50 tenants by id, later ones "other", "none" before authentication; known models, others "unknown".
 */
export class EdgeMetrics {
  private readonly duration: Histogram<"listener" | "rpc_method">;
  /** Answers per label set, plain numbers read into the counter at a scrape (no label hashing per call). */
  private readonly counts = new Map<string, { labels: Record<Labels, string>; n: number }>();
  private readonly tenants = new TenantLabel(50);

  constructor(
    registry: Registry,
    private readonly models: ReadonlySet<string>,
  ) {
    const counts = this.counts;
    new Counter({
      name: "scoremesh_edge_requests_total",
      help: "Public calls answered by the validator, refusals included, by listener, method, gRPC code, tenant and model.",
      labelNames: ["listener", "rpc_method", "grpc_code", "tenant", "model"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, n } of counts.values()) this.inc(labels, n);
      },
    });
    this.duration = new Histogram({
      name: "scoremesh_edge_duration_seconds",
      help: "Time the validator took to answer a public call, by listener and method.",
      labelNames: ["listener", "rpc_method"] as const,
      buckets: RPC_DURATION_BUCKETS,
      registers: [registry],
    });
  }

  /** Counts one answer (its count is found by one string key: O(1)). */
  count(listener: Listener, method: string, code: number, tenantId: string, model: string): void {
    const tenant = this.tenants.of(tenantId);
    const m = this.models.has(model) ? model : "unknown";
    const key = `${listener}|${method}|${code}|${tenant}|${m}`;
    const entry = this.counts.get(key);
    if (entry) entry.n++;
    else
      this.counts.set(key, {
        labels: { listener, rpc_method: method, grpc_code: grpcCodeName(code), tenant, model: m },
        n: 1,
      });
  }

  /** A refusal by admission (overload), before the call's tenant or model is known. */
  refused(listener: Listener, path: string, code: number): void {
    this.count(listener, path.slice(path.lastIndexOf("/") + 1) || "unknown", code, "", "");
  }

  /** Wraps every method of the edge's routes: each answer counted with its code, tenant and model, and timed. */
  wrap<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>, listener: Listener): Partial<ServiceImpl<S>> {
    const out: Record<string, unknown> = {};
    for (const method of service.methods) {
      const fn = (impl as Record<string, (req: unknown, ctx: HandlerContext) => Promise<unknown>>)[method.localName];
      if (!fn) continue;
      const hist = this.duration.labels({ listener, rpc_method: method.name });
      out[method.localName] = async (req: unknown, ctx: HandlerContext) => {
        const started = performance.now();
        let code = 0;
        let tenant = "";
        try {
          return await fn.call(impl, req, ctx);
        } catch (err) {
          code = ConnectError.from(err).code;
          tenant = refusedTenants.get(err as object) ?? "";
          throw err;
        } finally {
          hist.observe((performance.now() - started) / 1000);
          this.count(listener, method.name, code, tenant || ctx.values.get(EDGE_TENANT), modelOf(req));
        }
      };
    }
    return out as Partial<ServiceImpl<S>>;
  }
}

/** The model a Score or ScoreBatch names (a batch: its first request's). */
function modelOf(req: unknown): string {
  const r = req as { model?: unknown; requests?: { model?: unknown }[] };
  const model = typeof r.model === "string" ? r.model : r.requests?.[0]?.model;
  return typeof model === "string" ? model : "";
}
