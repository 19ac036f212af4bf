import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Context } from "@opentelemetry/api";
import { injectContext } from "./tracing.js";

/** What `new Headers()` takes (connect names it HeadersInit, a DOM type). */
type HeaderInit = ConstructorParameters<typeof Headers>[0];

/**
 * The connect `HandlerContext` of a call made in process (monolithic mode): what a handler reads from a gRPC call,
 * without the socket. Its signal aborts when the caller's signal does (Canceled) or its deadline passes
 * (DeadlineExceeded); `timeoutMs()` counts down to that deadline; the request headers are the caller's, with the
 * W3C trace context of the client span added, built only if a handler asks for them.
 */
export class InProcessHandlerContext implements HandlerContext {
  readonly requestMethod = "POST";
  readonly protocolName = "in-process";
  readonly url: string;
  private readonly abort = new AbortController();
  private readonly deadlineMs: number;
  private timer?: NodeJS.Timeout;
  private headers?: Headers;
  private resHeader?: Headers;
  private resTrailer?: Headers;
  private ctxValues?: ContextValues;
  private readonly onCallerAbort = () => this.cancel(Code.Canceled, "the call was cancelled");

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    private readonly init: HeaderInit | undefined,
    /** The context of the client span: its trace context goes into the request headers. */
    private readonly clientContext: Context,
    timeoutMs: number | undefined,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    this.url = `/${service.typeName}/${method.name}`;
    this.deadlineMs = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    if (timeoutMs !== undefined)
      this.timer = setTimeout(
        () => this.cancel(Code.DeadlineExceeded, "the call's deadline passed"),
        Math.max(0, timeoutMs),
      );
    callerSignal?.addEventListener("abort", this.onCallerAbort, { once: true });
  }

  /** Aborts the handler's signal with `code` (the caller went away or the deadline passed). */
  private cancel(code: Code, message: string): void {
    if (!this.abort.signal.aborted) this.abort.abort(new ConnectError(message, code));
  }

  /** Marks the call answered: the deadline timer and the caller's signal are let go. */
  finish(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener("abort", this.onCallerAbort);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Milliseconds left before the caller's deadline; undefined when the caller set none. */
  timeoutMs = (): number | undefined => (Number.isFinite(this.deadlineMs) ? this.deadlineMs - Date.now() : undefined);

  get requestHeader(): Headers {
    if (!this.headers) {
      this.headers = new Headers(this.init);
      injectContext(this.clientContext, this.headers);
    }
    return this.headers;
  }

  get responseHeader(): Headers {
    return (this.resHeader ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.resTrailer ??= new Headers());
  }

  get values(): ContextValues {
    return (this.ctxValues ??= createContextValues());
  }
}
