import { Metadata } from "@grpc/grpc-js";
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import { ContextOnlyTracerProvider } from "../../services/lib/service/context-only-tracer.js";
import {
  endRpcSpan,
  extractMetadataContext,
  metadataSetter,
  SpanKind,
  startRpcSpan,
} from "../../services/lib/rpc/tracing.js";

/**
 * CPU per RPC span, as the mesh handles one (the caller's context extracted from metadata, a server span made
 * active, a client span injected into the next hop's metadata, both ended): the SDK's tracer without an exporter
 * (what every service ran before) against ContextOnlyTracer (what it runs now without an exporter).
 * Run: npm run build && node dist/test/bench/span-cost.js [sdk|context-only] (one provider per process)
 */
const which = process.argv[2] ?? "context-only";
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(which === "sdk" ? new TracerProvider({}) : new ContextOnlyTracerProvider());

const incoming = new Metadata();
incoming.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
function oneHop(): string {
  const server = startRpcSpan(
    SpanKind.SERVER,
    "scoremesh.router.v1.RouterService",
    "Route",
    extractMetadataContext(incoming),
  );
  return context.with(trace.setSpan(context.active(), server), () => {
    const client = startRpcSpan(SpanKind.CLIENT, "inference.GRPCInferenceService", "ModelInfer", context.active());
    const out = new Metadata();
    propagation.inject(trace.setSpan(context.active(), client), out, metadataSetter);
    endRpcSpan(client, 0);
    endRpcSpan(server, 0);
    return out.get("traceparent")[0] as string;
  });
}
const n = 200_000;
for (let i = 0; i < 20_000; i++) oneHop();
const c0 = process.cpuUsage();
let last = "";
for (let i = 0; i < n; i++) last = oneHop();
const c = process.cpuUsage(c0);
console.log(
  `${which}: ${((c.user + c.system) / n).toFixed(2)} µs CPU per hop (server span + client span + inject); ${last}`,
);
