import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { DescService } from "@bufbuild/protobuf";
import { ConnectError, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { hardenHttp, type HttpEdgeOptions } from "./http-edge.js";
import { context, endRpcSpan, extractContext, SpanKind, startRpcSpan, trace } from "../lib/rpc/index.js";

/**
 * Connections the kernel may queue before the listener accepts them (capped by net.core.somaxconn). Node's default,
 * 511, overflowed under a connection flood: the kernel then drops SYNs and clients retry after 1, 3 and 7 s, which
 * showed as refusals taking seconds and calls that never got an answer.
 */
const LISTEN_BACKLOG = 4096;
/** A server span per call on the HTTP listener, continuing the caller's W3C trace (traceparent header). */
const tracing: Interceptor = (next) => async (req) => {
  const span = startRpcSpan(
    SpanKind.SERVER,
    req.service.typeName,
    req.method.name,
    extractContext(req.header),
    "connect_rpc",
  );
  return context.with(trace.setSpan(context.active(), span), async () => {
    try {
      const res = await next(req);
      endRpcSpan(span, 0);
      return res;
    } catch (err) {
      const ce = ConnectError.from(err);
      endRpcSpan(span, ce.code, ce.rawMessage);
      throw err;
    }
  });
};

/** Node's defences against slow clients (ms): headers, a whole request, an idle keep-alive connection. */
export interface HttpTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/**
 * The HTTP listener of the edge: connect-node serving the Connect protocol (JSON or binary, e.g. curl) and
 * gRPC-Web (browsers), with the same handlers as the gRPC listener, behind the edge's checks (hardenHttp:
 * CORS, body size, admission) and timeouts against slow clients; HTTPS when `tls` is given.
 */
export function startHttpListener<S extends DescService>(
  service: S,
  impl: Partial<ServiceImpl<S>>,
  opts: Partial<HttpEdgeOptions> &
    Partial<HttpTimeouts> & {
      address: string;
      maxMessageBytes: number;
      tls?: { key: Buffer; cert: Buffer } | undefined;
    },
): Promise<{ server: Server | HttpsServer; port: number }> {
  const handler = connectNodeAdapter({
    routes: (router) => router.service(service, impl),
    interceptors: [tracing],
    readMaxBytes: opts.maxMessageBytes,
    grpc: false,
    grpcWeb: true,
    connect: true,
  });
  const httpOptions = {
    headersTimeout: opts.headersTimeoutMs ?? 10_000,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    // How often node checks those timeouts (default 30 s, longer than the timeouts themselves).
    connectionsCheckingInterval: Math.min(1000, opts.headersTimeoutMs ?? 10_000),
  };
  const edge = hardenHttp(handler, { corsOrigins: [], ...opts });
  const server = opts.tls
    ? createHttpsServer({ ...httpOptions, key: opts.tls.key, cert: opts.tls.cert }, edge)
    : createServer(httpOptions, edge);
  server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 5000;
  const i = opts.address.lastIndexOf(":");
  const host = opts.address.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(opts.address.slice(i + 1));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === "object" && addr ? addr.port : port });
    });
  });
}
