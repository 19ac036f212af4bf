import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import { encodeStatusDetails, STATUS_DETAILS_KEY } from "./status-details.js";
import { context, endRpcSpan, extractMetadataContext, SpanKind, startRpcSpan, trace } from "./tracing.js";
import { GrpcHandlerContext } from "./handler-context.js";
import type { RpcServerMetrics } from "./server-metrics.js";

/** Serializers for one method, shared by the server definition and the client transport. */
export function methodSerializers(method: DescMethod) {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    serializeInput: (m: unknown) => toBuffer(toBinary(method.input, m as never)),
    deserializeInput: (b: Buffer) => fromBinary(method.input, b),
    serializeOutput: (m: unknown) => toBuffer(toBinary(method.output, m as never)),
    deserializeOutput: (b: Buffer) => fromBinary(method.output, b),
  };
}

function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** A grpc-js service definition built from a protobuf-es service descriptor (unary methods only). */
export function grpcServiceDefinition(service: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary")
      throw new Error(`${method.parent.typeName}/${method.name}: only unary methods are supported`);
    const s = methodSerializers(method);
    def[method.name] = {
      path: s.path,
      requestStream: false,
      responseStream: false,
      requestSerialize: s.serializeInput,
      requestDeserialize: s.deserializeInput,
      responseSerialize: s.serializeOutput,
      responseDeserialize: s.deserializeOutput,
      originalName: method.localName,
    };
  }
  return def;
}

/** Counts calls in flight, so that shutdown can report what it drains. */
export interface InFlight {
  count: number;
}

/**
 * Serves a connect-es `ServiceImpl` on a grpc-js server: the same handler code that connect-node serves over
 * HTTP, with grpc-js's cheaper transport. Each call gets a connect `HandlerContext` (request headers, deadline
 * as `timeoutMs()`, a `signal` that aborts when the caller cancels or the deadline passes), a server span that
 * continues the caller's W3C trace, and errors mapped to gRPC status codes with google.rpc.Status details.
 * An error that is not a ConnectError is logged and answered INTERNAL without its message. With `metrics`, every
 * answer is counted by method and code, and timed (label children bound once per method).
 */
export function addService<S extends DescService>(
  server: grpc.Server,
  service: S,
  impl: Partial<ServiceImpl<S>>,
  opts: { log: Logger; inFlight?: InFlight; metrics?: RpcServerMetrics },
): void {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const fn = (impl as Record<string, unknown>)[method.localName] as
      ((req: unknown, ctx: GrpcHandlerContext) => unknown) | undefined;
    const counted = opts.metrics?.method(service.typeName, method.name);
    handlers[method.name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (opts.inFlight) opts.inFlight.count++;
      const started = counted ? performance.now() : 0;
      const ctx = new GrpcHandlerContext(service, method, call);
      const span = startRpcSpan(SpanKind.SERVER, service.typeName, method.name, extractMetadataContext(call.metadata));
      const finish = (err: unknown, res?: unknown) => {
        ctx.finish();
        if (opts.inFlight) opts.inFlight.count--;
        if (err === undefined) {
          counted?.done(0, (performance.now() - started) / 1000);
          endRpcSpan(span, 0);
          const header = ctx.headerMetadata();
          if (header) call.sendMetadata(header);
          callback(null, create(method.output, res as never));
          return;
        }
        const ce = ConnectError.from(err);
        if (!(err instanceof ConnectError)) {
          opts.log.error({ err, rpc: `${service.typeName}/${method.name}` }, "handler failed");
        }
        counted?.done(ce.code, (performance.now() - started) / 1000);
        endRpcSpan(span, ce.code, ce.rawMessage);
        callback(toServiceError(ce, err instanceof ConnectError));
      };
      if (!fn) {
        finish(new ConnectError(`${method.name} is not implemented`, Code.Unimplemented));
        return;
      }
      context.with(trace.setSpan(context.active(), span), () => {
        try {
          Promise.resolve(fn.call(impl, call.request, ctx)).then(
            (res) => finish(undefined, res),
            (e: unknown) => finish(e),
          );
        } catch (e) {
          finish(e);
        }
      });
    };
  }
  server.addService(grpcServiceDefinition(service), handlers);
}

function toServiceError(ce: ConnectError, expose: boolean): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  const details = encodeStatusDetails(ce);
  if (details) metadata.set(STATUS_DETAILS_KEY, Buffer.from(details));
  return {
    code: ce.code as number,
    details: expose ? ce.rawMessage : "internal error",
    metadata,
  };
}
