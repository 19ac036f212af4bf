import { pino, type Logger } from "pino";
import { trace } from "@opentelemetry/api";

/**
 * The one logger of a service: pino JSON on stdout with `service` and, inside a traced call, `trace_id` and
 * `span_id` on every line. Log structured fields, never request bodies, keys or personal data.
 */
export function createLogger(service: string, level = process.env["LOG_LEVEL"] ?? "info"): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const sc = trace.getActiveSpan()?.spanContext();
      return sc && trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
    },
    redact: { paths: ["inputs", "*.inputs", "authorization", "*.authorization"], censor: "[redacted]" },
  });
}

export type { Logger };
