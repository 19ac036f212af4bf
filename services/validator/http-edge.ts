import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { Code, ConnectError, cors } from "@connectrpc/connect";
import { httpAdmit, refuseHttp, type AdmissionOptions } from "./admission.js";
import { EDGE_RULES_HEADER } from "./edge-rules.js";

export interface HttpEdgeOptions {
  /** Largest body read; a request that declares a larger Content-Length gets 413 before any of it is read. */
  maxMessageBytes: number;
  /** Origins allowed to call from a browser (VALIDATOR_CORS_ORIGINS); "*" allows any; [] none. */
  corsOrigins: string[];
  admission?: AdmissionOptions;
}

/** What connect-node serves here: Connect unary (JSON, binary), Connect streaming and gRPC-Web. */
const CONTENT_TYPES = /^application\/(json|proto|connect\+(json|proto)|grpc-web(-text)?(\+(proto|json))?)\s*(;|$)/i;

/** gRPC-Web and Connect put a 5-byte envelope around a message; a body may exceed the message by that much. */
const ENVELOPE_BYTES = 5;

/**
 * The checks the HTTP listener makes before connect-node sees a request: CORS (preflights answered here,
 * allowed origins echoed on every answer), the declared body size (413 with RESOURCE_EXHAUSTED, never a
 * reset), and admission through the concurrency limit (429 with Retry-After).
 */
export function hardenHttp(next: RequestListener, opts: HttpEdgeOptions): RequestListener {
  return (req, res) => {
    const preflight = applyCors(req, res, opts.corsOrigins);
    if (preflight) return;
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > opts.maxMessageBytes + ENVELOPE_BYTES) {
      const err = new ConnectError(
        `request body of ${declared} bytes is larger than the limit of ${opts.maxMessageBytes}`,
        Code.ResourceExhausted,
      );
      refuseHttp(req, res, err, 413);
      return;
    }
    const type = req.headers["content-type"] ?? "";
    if (req.method === "POST" && !CONTENT_TYPES.test(type)) {
      const err = new ConnectError(
        `unsupported content-type ${JSON.stringify(type.slice(0, 64))}: use application/json or application/proto (Connect), application/grpc-web+proto (gRPC-Web)`,
        Code.InvalidArgument,
      );
      refuseHttp(req, res, err, 415);
      return;
    }
    if (opts.admission && !httpAdmit(req, res, opts.admission)) return;
    next(req, res);
  };
}

const ALLOW_HEADERS = [...cors.allowedHeaders, "Authorization", "Traceparent"].join(", ");
const EXPOSE_HEADERS = [...cors.exposedHeaders, "Retry-After", EDGE_RULES_HEADER].join(", ");

/** Sets CORS headers for an allowed origin; answers a preflight (returns true) whoever sent it. */
function applyCors(req: IncomingMessage, res: ServerResponse, origins: string[]): boolean {
  const origin = req.headers.origin;
  const allowed = origin !== undefined && (origins.includes("*") || origins.includes(origin));
  if (allowed) {
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("vary", "Origin");
    res.setHeader("access-control-expose-headers", EXPOSE_HEADERS);
  }
  if (req.method !== "OPTIONS" || req.headers["access-control-request-method"] === undefined) return false;
  if (allowed) {
    res.setHeader("access-control-allow-methods", cors.allowedMethods.join(", "));
    res.setHeader("access-control-allow-headers", ALLOW_HEADERS);
    res.setHeader("access-control-max-age", "7200");
  }
  // A refused origin gets no CORS headers: the browser then blocks the call.
  res.writeHead(allowed ? 204 : 403).end();
  return true;
}
