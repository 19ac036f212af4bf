import * as grpc from "@grpc/grpc-js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { encodeStatusDetails, retryInfo, STATUS_DETAILS_KEY } from "../lib/rpc/index.js";
import type { AdaptiveConcurrencyLimit, CallOutcome } from "./concurrency-limit.js";

/**
 * Admission at the edge: one adaptive concurrency limit for both listeners, taken when a call arrives (the
 * gRPC stream opens; the HTTP request's headers are read), before its body is read or its handler runs, and
 * given back when its answer has gone. A call over the limit is refused at once: RESOURCE_EXHAUSTED with a
 * google.rpc.RetryInfo (gRPC, gRPC-Web), HTTP 429 with Retry-After (Connect).
 */
export interface AdmissionOptions {
  limit: AdaptiveConcurrencyLimit;
  /** Only paths under this prefix are limited (e.g. "/scoremesh.scoring.v1.ScoringService/"): health never is. */
  pathPrefix: string;
  /** The retry hint of a refusal. */
  retryAfterMs: number;
  /** Told of each refusal (the edge's metrics count it): the listener and the call's path. */
  onRefused?: (listener: "grpc" | "http", path: string) => void;
}

function refusal(retryAfterMs: number): ConnectError {
  const err = new ConnectError("the scoring service is overloaded; retry later", Code.ResourceExhausted);
  err.details.push(retryInfo(retryAfterMs));
  return err;
}

/** Overload signals feed the limit; answers that say nothing of load (bad input, unknown model) are ignored. */
function outcomeOfCode(code: number): CallOutcome {
  if (code === 0) return "ok";
  return code === (Code.DeadlineExceeded as number) || code === (Code.ResourceExhausted as number)
    ? "dropped"
    : "ignored";
}

function outcomeOfHttp(status: number): CallOutcome {
  if (status === 200) return "ok";
  return status === 504 || status === 429 ? "dropped" : "ignored";
}

/** A grpc-js server interceptor that admits calls under `opts.pathPrefix` through the limit. */
export function grpcAdmission(opts: AdmissionOptions): grpc.ServerInterceptor {
  return (method, call) => {
    if (!method.path.startsWith(opts.pathPrefix)) return new grpc.ServerInterceptingCall(call);
    const ticket = opts.limit.tryAcquire();
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (md, mdNext) => {
            if (ticket) return mdNext(md);
            opts.onRefused?.("grpc", method.path);
            const err = refusal(opts.retryAfterMs);
            const metadata = new grpc.Metadata();
            metadata.set(STATUS_DETAILS_KEY, Buffer.from(encodeStatusDetails(err)!));
            call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: err.rawMessage, metadata });
          },
          onCancel: () => ticket?.release("ignored"),
        }),
      sendStatus: (status, next) => {
        ticket?.release(outcomeOfCode(status.code));
        next(status);
      },
    });
  };
}

/**
 * Admits an HTTP request under `opts.pathPrefix` through the limit; returns false when it was refused (and
 * answered). The ticket goes back when the response has been sent or the connection has closed.
 */
export function httpAdmit(req: IncomingMessage, res: ServerResponse, opts: AdmissionOptions): boolean {
  if (!req.url?.startsWith(opts.pathPrefix)) return true;
  const ticket = opts.limit.tryAcquire();
  if (ticket) {
    res.once("close", () => ticket.release(res.writableFinished ? outcomeOfHttp(res.statusCode) : "ignored"));
    return true;
  }
  opts.onRefused?.("http", req.url);
  refuseHttp(req, res, refusal(opts.retryAfterMs), 429, Math.ceil(opts.retryAfterMs / 1000));
  return false;
}

/** A refused request's body is read and dropped up to this many bytes (so the client sees the answer, not a reset). */
const DRAIN_BYTES = 64 << 20;

/**
 * Answers an error: Connect JSON with `status` (and Retry-After), or, for a gRPC-Web request, a trailers-only
 * 200 with grpc-status. A body still coming is read and dropped first (up to DRAIN_BYTES, then the connection
 * is closed), so that a client still writing gets the answer rather than a reset.
 */
export function refuseHttp(
  req: IncomingMessage,
  res: ServerResponse,
  err: ConnectError,
  status: number,
  retryAfterS?: number,
): void {
  if (req.complete) return answer(req, res, err, status, retryAfterS);
  let read = 0;
  req.on("data", (chunk: Buffer) => {
    read += chunk.byteLength;
    if (read > DRAIN_BYTES) req.destroy();
  });
  req.once("end", () => answer(req, res, err, status, retryAfterS));
}

function answer(req: IncomingMessage, res: ServerResponse, err: ConnectError, status: number, retryAfterS?: number) {
  if (retryAfterS !== undefined) res.setHeader("retry-after", String(retryAfterS));
  if (/^application\/grpc-web/.test(req.headers["content-type"] ?? "")) {
    const details = encodeStatusDetails(err);
    res.writeHead(200, {
      "content-type": req.headers["content-type"],
      "grpc-status": String(err.code),
      "grpc-message": encodeURIComponent(err.rawMessage),
      ...(details ? { [STATUS_DETAILS_KEY]: Buffer.from(details).toString("base64") } : {}),
    });
    res.end();
    return;
  }
  const body = errorToJsonBytes(err, {});
  res.writeHead(status, { "content-type": "application/json", "content-length": body.byteLength });
  res.end(body);
}
