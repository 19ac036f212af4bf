import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider, type SpanProcessor } from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { ContextOnlyTracerProvider } from "./context-only-tracer.js";

/**
 * Sets up tracing for a service before anything else runs. Every call has a real trace context (so every
 * response, log line and audit record has a trace id, and the next hop continues the trace); spans are recorded
 * and exported by OTLP over HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
 * set (e.g. http://localhost:4318 for Jaeger). Without an exporter the tracer only carries the context
 * (ContextOnlyTracer: no span objects built). Configured only by OTEL_* variables: OTEL_SERVICE_NAME overrides
 * the service name, OTEL_BSP_SCHEDULE_DELAY sets the export interval.
 */
export function startTelemetry(service: string): { shutdown(): Promise<void> } {
  const env = process.env;
  const contextManager = new AsyncLocalStorageContextManager();
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (!env["OTEL_EXPORTER_OTLP_ENDPOINT"] && !env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) {
    trace.setGlobalTracerProvider(new ContextOnlyTracerProvider());
    return { shutdown: async () => {} };
  }
  const delay = Number(env["OTEL_BSP_SCHEDULE_DELAY"]);
  const processors: SpanProcessor[] = [
    new BatchSpanProcessor({
      exporter: new OTLPTraceExporter(),
      scheduledDelayMillis: Number.isFinite(delay) && delay > 0 ? delay : 5000,
    }),
  ];
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env["OTEL_SERVICE_NAME"] || `scoremesh-${service}`,
      [ATTR_SERVICE_VERSION]: "0.1.0",
    }),
    spanProcessors: processors,
  });
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}
