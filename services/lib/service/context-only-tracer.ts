import {
  context as api,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import { RandomIdGenerator } from "@opentelemetry/sdk-trace";

const ids = new RandomIdGenerator();

/**
 * A tracer for a service that exports no spans: every span it starts is a non-recording span that carries a real
 * trace context (the caller's trace id, trace flags and state, and a span id of its own; a new trace id, flagged
 * sampled, for a root span), so responses, log lines, audit records and the traceparent sent onward are what the
 * SDK's tracer would give them, without building, timing and ending span objects that nobody reads.
 */
export class ContextOnlyTracer implements Tracer {
  startSpan(_name: string, options: SpanOptions = {}, ctx: Context = api.active()): Span {
    const parent = options.root ? undefined : trace.getSpanContext(ctx);
    if (parent && trace.isSpanContextValid(parent))
      return trace.wrapSpanContext({ ...parent, spanId: ids.generateSpanId(), isRemote: false });
    return trace.wrapSpanContext({
      traceId: ids.generateTraceId(),
      spanId: ids.generateSpanId(),
      traceFlags: TraceFlags.SAMPLED,
    });
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    ctx: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...args: unknown[]): ReturnType<F> {
    const fn = args[args.length - 1] as F;
    const options = (args.length > 1 ? args[0] : undefined) as SpanOptions | undefined;
    const ctx = (args.length > 2 ? args[1] : undefined) as Context | undefined;
    const parentCtx = ctx ?? api.active();
    const span = this.startSpan(name, options, parentCtx);
    return api.with(trace.setSpan(parentCtx, span), () => fn(span)) as ReturnType<F>;
  }
}

/** The provider of `ContextOnlyTracer` (one tracer for every name). */
export class ContextOnlyTracerProvider implements TracerProvider {
  private readonly tracer = new ContextOnlyTracer();
  getTracer(): Tracer {
    return this.tracer;
  }
}
