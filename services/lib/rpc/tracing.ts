import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import type { Code } from "@connectrpc/connect";
import type { Metadata } from "@grpc/grpc-js";

/** The tracer for every RPC span of scoremesh (client and server side, all listeners). */
export const tracer = trace.getTracer("scoremesh.rpc");

/** Reads W3C trace context from any string map (grpc-js metadata converted, or fetch Headers). */
export const headersGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

export const headersSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** Starts a span following the RPC semantic conventions for `/pkg.Service/Method`. */
export function startRpcSpan(
  kind: SpanKind.SERVER | SpanKind.CLIENT,
  serviceTypeName: string,
  methodName: string,
  parent: Context,
  system: "grpc" | "connect_rpc" = "grpc",
): Span {
  return tracer.startSpan(
    `${serviceTypeName}/${methodName}`,
    {
      kind,
      attributes: { "rpc.system": system, "rpc.service": serviceTypeName, "rpc.method": methodName },
    },
    parent,
  );
}

/** Ends an RPC span with its status code (0 = OK). */
export function endRpcSpan(span: Span, code: Code | 0, message?: string): void {
  span.setAttribute("rpc.grpc.status_code", code);
  if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.end();
}

/** The context a server call runs in: the caller's trace context, extracted from its headers. */
export function extractContext(headers: Headers): Context {
  return propagation.extract(context.active(), headers, headersGetter);
}

/** Reads and writes W3C trace context directly in grpc-js metadata (no Headers copy on the hot path). */
export const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const v = carrier.get(key)[0];
    return typeof v === "string" ? v : undefined;
  },
};

export const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** The context a grpc-js server call runs in: the caller's trace context, from its metadata. */
export function extractMetadataContext(md: Metadata): Context {
  return propagation.extract(context.active(), md, metadataGetter);
}

/** Writes the active trace context into outgoing headers. */
export function injectContext(ctx: Context, headers: Headers): void {
  propagation.inject(ctx, headers, headersSetter);
}

/** The trace id of the active span, or "" when there is none. */
export function activeTraceId(): string {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : "";
}

export { SpanKind, context, trace };
