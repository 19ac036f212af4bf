import { create, type DescMessage, type DescMethodUnary, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl, type UnaryResponse } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { InFlight } from "./grpc-server.js";
import { InProcessHandlerContext } from "./in-process-context.js";
import type { MethodMetrics, RpcServerMetrics } from "./server-metrics.js";
import { context, endRpcSpan, SpanKind, startRpcSpan, trace } from "./tracing.js";

/** What `new Headers()` takes (connect names it HeadersInit, a DOM type). */
type HeaderInit = ConstructorParameters<typeof Headers>[0];
type Handler = (req: unknown, ctx: InProcessHandlerContext) => unknown;
interface Registered {
  service: DescService;
  fn?: Handler;
  impl: object;
  metrics?: MethodMetrics;
}

/** Response headers and trailers are not collected (as over gRPC: no caller of ours reads them). */
const NO_HEADERS = new Headers();

/**
 * The handlers one ServiceHost serves, callable in process (monolithic mode, services/monolith): the same
 * handlers its gRPC server runs, with the same server span, RPC metrics, calls-in-flight count and error mapping
 * (an error that is not a ConnectError is logged and answered INTERNAL "internal error"). While its host drains,
 * a new call is answered UNAVAILABLE, as a server that stopped accepting calls answers.
 */
export class InProcessServer {
  private readonly methods = new Map<string, Registered>();
  private closing = false;
  private running = 0;
  private idle?: () => void;

  constructor(private readonly opts: { log: Logger; inFlight: InFlight; metrics?: RpcServerMetrics }) {}

  add<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): void {
    for (const method of service.methods) {
      const fn = (impl as Record<string, unknown>)[method.localName] as Handler | undefined;
      const metrics = this.opts.metrics?.method(service.typeName, method.name);
      this.methods.set(`${service.typeName}/${method.name}`, {
        service,
        impl,
        ...(fn ? { fn } : {}),
        ...(metrics ? { metrics } : {}),
      });
    }
  }

  /** Stops taking calls (UNAVAILABLE) and resolves once those running have been answered. */
  drain(): Promise<void> {
    this.closing = true;
    return this.running === 0 ? Promise.resolve() : new Promise((resolve) => (this.idle = resolve));
  }

  /** One unary call: `Transport.unary`'s arguments, answered by the registered handler. */
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeaderInit | undefined,
    input: unknown,
  ): Promise<UnaryResponse<I, O>> {
    const rpc = `${method.parent.typeName}/${method.name}`;
    const parent = context.active();
    const clientSpan = startRpcSpan(SpanKind.CLIENT, method.parent.typeName, method.name, parent);
    const clientContext = trace.setSpan(parent, clientSpan);
    const reg = this.methods.get(rpc);
    const refused = this.refusal(reg, rpc, signal);
    if (refused) {
      endRpcSpan(clientSpan, refused.code, refused.rawMessage);
      return Promise.reject(refused);
    }
    const ctx = new InProcessHandlerContext(reg!.service, method, header, clientContext, timeoutMs, signal);
    return this.serve(reg!, rpc, create(method.input, input as never), ctx, clientContext).then(
      (res) => {
        endRpcSpan(clientSpan, 0);
        return {
          stream: false,
          service: method.parent,
          method,
          header: NO_HEADERS,
          trailer: NO_HEADERS,
          message: create(method.output, res as never),
        };
      },
      (err: ConnectError) => {
        endRpcSpan(clientSpan, err.code, err.rawMessage);
        throw err;
      },
    );
  }

  /** Why a call is refused before it reaches a handler, if it is. */
  private refusal(reg: Registered | undefined, rpc: string, signal: AbortSignal | undefined): ConnectError | undefined {
    if (signal?.aborted) return ConnectError.from(signal.reason, Code.Canceled);
    if (this.closing) return new ConnectError("the server is shutting down", Code.Unavailable);
    if (!reg) return new ConnectError(`${rpc}: unknown service or method`, Code.Unimplemented);
    if (!reg.fn) return new ConnectError(`${rpc.slice(rpc.indexOf("/") + 1)} is not implemented`, Code.Unimplemented);
    return undefined;
  }

  /**
   * Runs the handler under a server span that continues the client span, and answers when it answers, or when
   * the caller cancels or the deadline passes (whichever comes first, as a gRPC client does).
   */
  private serve(
    reg: Registered,
    rpc: string,
    req: unknown,
    ctx: InProcessHandlerContext,
    clientContext: ReturnType<typeof context.active>,
  ): Promise<unknown> {
    const started = reg.metrics ? performance.now() : 0;
    const span = startRpcSpan(SpanKind.SERVER, reg.service.typeName, ctx.method.name, clientContext);
    this.begin();
    const handled = new Promise<unknown>((resolve, reject) => {
      ctx.signal.addEventListener("abort", () => reject(ConnectError.from(ctx.signal.reason)), { once: true });
      context.with(trace.setSpan(clientContext, span), () => {
        try {
          Promise.resolve(reg.fn!.call(reg.impl, req, ctx)).then(resolve, reject);
        } catch (e) {
          reject(e);
        }
      });
    });
    return handled.then(
      (res) => {
        this.end(ctx, reg, started, 0);
        endRpcSpan(span, 0);
        return res;
      },
      (err: unknown) => {
        const ce = this.toCallerError(err, rpc);
        this.end(ctx, reg, started, ce.code);
        endRpcSpan(span, ce.code, ce.rawMessage);
        throw ce;
      },
    );
  }

  private begin(): void {
    this.running++;
    this.opts.inFlight.count++;
  }

  private end(ctx: InProcessHandlerContext, reg: Registered, started: number, code: number): void {
    ctx.finish();
    this.opts.inFlight.count--;
    reg.metrics?.done(code, (performance.now() - started) / 1000);
    if (--this.running === 0 && this.idle) this.idle();
  }

  /** What a gRPC client would get: code, message and details; an unexpected error logged and hidden. */
  private toCallerError(err: unknown, rpc: string): ConnectError {
    if (!(err instanceof ConnectError)) {
      this.opts.log.error({ err, rpc }, "handler failed");
      return new ConnectError("internal error", Code.Internal);
    }
    const ce = new ConnectError(err.rawMessage, err.code);
    ce.details = err.details;
    return ce;
  }
}

/** Every InProcessServer by the addresses its host listens on; empty unless monolithic mode turned it on. */
const servers = new Map<string, InProcessServer>();
let enabled = false;

/** Monolithic mode: from now on, every ServiceHost of this process can be called in process. */
export function enableInProcessCalls(): void {
  enabled = true;
}

export function inProcessCallsEnabled(): boolean {
  return enabled;
}

/**
 * Makes `server` the answer to calls dialled to any of `addresses` from this process; returns what undoes it.
 * A transport to one of them (createGrpcTransport) then calls the handler directly: no serialization, no socket.
 */
export function registerInProcess(addresses: readonly string[], server: InProcessServer): () => void {
  for (const a of addresses) servers.set(a, server);
  return () => {
    for (const a of addresses) if (servers.get(a) === server) servers.delete(a);
  };
}

/** The server in this process that `address` reaches, if any (one map lookup; none outside monolithic mode). */
export function inProcessServer(address: string): InProcessServer | undefined {
  return servers.size === 0 ? undefined : servers.get(address);
}

/**
 * The addresses a listener is dialled by: the one it was given, and for a wildcard host or port 0 what the port
 * bound makes of it (127.0.0.1:<port>, localhost:<port>).
 */
export function dialAddresses(listen: string, port: number): string[] {
  const host = listen.slice(0, listen.lastIndexOf(":"));
  const out = new Set([listen, `${host}:${port}`]);
  if (["0.0.0.0", "[::]", "::", "127.0.0.1", "localhost"].includes(host)) {
    out.add(`127.0.0.1:${port}`);
    out.add(`localhost:${port}`);
  }
  return [...out];
}
