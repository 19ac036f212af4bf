import { test } from "node:test";
import assert from "node:assert/strict";
import { context, propagation, trace, TraceFlags, type Context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { ContextOnlyTracer } from "../../../../services/lib/service/context-only-tracer.js";

const tracer = new ContextOnlyTracer();
const propagator = new W3CTraceContextPropagator();
const getter = {
  keys: (c: Record<string, string>) => Object.keys(c),
  get: (c: Record<string, string>, k: string) => c[k],
};
const setter = { set: (c: Record<string, string>, k: string, v: string) => void (c[k] = v) };
const incoming = (flags: string, state?: string): Context =>
  propagator.extract(
    context.active(),
    {
      traceparent: `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-${flags}`,
      ...(state ? { tracestate: state } : {}),
    },
    getter,
  );

test("a root span gets a new valid trace id and span id, flagged sampled, and records nothing", () => {
  const a = tracer.startSpan("a").spanContext();
  const b = tracer.startSpan("b").spanContext();
  assert.ok(trace.isSpanContextValid(a) && trace.isSpanContextValid(b));
  assert.notEqual(a.traceId, b.traceId);
  assert.equal(a.traceFlags, TraceFlags.SAMPLED);
  assert.equal(tracer.startSpan("c").isRecording(), false);
});

test("a child continues the caller's trace: same trace id, flags and state, a span id of its own", () => {
  for (const flags of ["01", "00"]) {
    const span = tracer.startSpan("child", {}, incoming(flags, "vendor=x"));
    const sc = span.spanContext();
    assert.equal(sc.traceId, "0af7651916cd43dd8448eb211c80319c");
    assert.notEqual(sc.spanId, "b7ad6b7169203331");
    assert.match(sc.spanId, /^[0-9a-f]{16}$/);
    assert.equal(sc.traceFlags, Number.parseInt(flags, 16));
    assert.equal(sc.traceState?.get("vendor"), "x");
    const out: Record<string, string> = {};
    propagator.inject(trace.setSpan(context.active(), span), out, setter);
    assert.equal(out["traceparent"], `00-0af7651916cd43dd8448eb211c80319c-${sc.spanId}-${flags}`);
  }
  assert.notEqual(
    tracer.startSpan("root", { root: true }, incoming("01")).spanContext().traceId,
    "0af7651916cd43dd8448eb211c80319c",
  );
});

test("startActiveSpan runs the function with the span active", () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(propagator);
  try {
    const seen = tracer.startActiveSpan("op", (span) => {
      assert.equal(trace.getActiveSpan()?.spanContext().spanId, span.spanContext().spanId);
      return span.spanContext().traceId;
    });
    assert.match(seen, /^[0-9a-f]{32}$/);
    const inParent = tracer.startActiveSpan("op", {}, incoming("01"), (span) => span.spanContext().traceId);
    assert.equal(inParent, "0af7651916cd43dd8448eb211c80319c");
  } finally {
    context.disable();
    propagation.disable();
  }
});
