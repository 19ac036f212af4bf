import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Metadata, ServerUnaryCall } from "@grpc/grpc-js";
import { headersToMetadata, metadataToHeaders } from "./metadata.js";

/**
 * A connect `HandlerContext` for a grpc-js call, built for the hot path: one AbortController per call (aborted
 * when grpc-js cancels the call: the caller went away or the deadline passed; grpc-js enforces the deadline
 * itself), and request headers converted from metadata only if a handler asks for them. connect's own
 * `createHandlerContext` links three signals, starts a deadline timer and builds three Headers per call, which
 * doubled the server CPU of a hop (docs/rpc-libraries.md).
 */
export class GrpcHandlerContext implements HandlerContext {
  readonly requestMethod = "POST";
  readonly protocolName = "grpc";
  readonly url: string;
  private readonly abort = new AbortController();
  private readonly deadlineMs: number;
  private headers?: Headers;
  private resHeader?: Headers;
  private resTrailer?: Headers;
  private ctxValues?: ContextValues;
  private finished = false;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    private readonly call: ServerUnaryCall<unknown, unknown>,
  ) {
    this.url = `/${service.typeName}/${method.name}`;
    const d = call.getDeadline();
    this.deadlineMs = d instanceof Date ? d.getTime() : d;
    // grpc-js emits "cancelled" after every call, answered or not; only a call still running is aborted.
    call.once("cancelled", () => {
      if (!this.finished)
        this.abort.abort(new ConnectError("the call was cancelled or its deadline passed", Code.Canceled));
    });
  }

  /** Marks the call answered: a later "cancelled" from grpc-js aborts nothing. */
  finish(): void {
    this.finished = true;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Milliseconds left before the caller's deadline; undefined when the caller set none. */
  timeoutMs = (): number | undefined => (Number.isFinite(this.deadlineMs) ? this.deadlineMs - Date.now() : undefined);

  get requestHeader(): Headers {
    return (this.headers ??= metadataToHeaders(this.call.metadata));
  }

  get responseHeader(): Headers {
    return (this.resHeader ??= new Headers());
  }

  /** The response headers a handler set, as metadata to send before the answer; undefined when it set none. */
  headerMetadata(): Metadata | undefined {
    let any = false;
    this.resHeader?.forEach(() => (any = true));
    return any ? headersToMetadata(this.resHeader!) : undefined;
  }

  get responseTrailer(): Headers {
    return (this.resTrailer ??= new Headers());
  }

  get values(): ContextValues {
    return (this.ctxValues ??= createContextValues());
  }
}
