import * as grpc from "@grpc/grpc-js";
import { create, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport, type UnaryResponse } from "@connectrpc/connect";
import { methodSerializers } from "./grpc-server.js";
import { decodeStatusDetails, STATUS_DETAILS_KEY } from "./status-details.js";
import { context, endRpcSpan, metadataSetter, SpanKind, startRpcSpan, trace } from "./tracing.js";
import { propagation } from "@opentelemetry/api";
import { headersToMetadata, metadataToHeaders } from "./metadata.js";
import { tlsChannelOptions } from "./tls-credentials.js";
import { inProcessServer } from "./in-process.js";

/** Response headers and trailers are not collected (no caller of ours reads them); one shared empty set. */
const NO_HEADERS = new Headers();

export interface GrpcTransportOptions {
  /** host:port of the server, or a balanced target: dns:///host:port, ipv4:ip:port,ip:port (EnvReader.target). */
  address: string;
  /** How to dial it: `MeshCredentials.channel()` (mutual TLS, or plaintext with TLS_MODE=off). */
  credentials: grpc.ChannelCredentials;
  /** grpc-js channel options, e.g. { "grpc.max_receive_message_length": 8 << 20 }. */
  channelOptions?: grpc.ChannelOptions;
}

/** A transport that can be closed, releasing its channel. */
export interface ClosableTransport extends Transport {
  readonly address: string;
  /** The underlying channel (for connectivity state and waitForReady). */
  readonly channel: grpc.Client;
  close(): void;
}

/**
 * A connect-es `Transport` over a grpc-js channel, so that `createClient(Service, transport)` gives a typed
 * promise client that costs what grpc-js costs. Each call gets a client span, W3C trace context in its
 * metadata, its deadline from `timeoutMs`, and cancellation from `signal`; errors come back as ConnectError
 * with the server's google.rpc.Status details (`err.findDetails(BadRequestSchema)`). In monolithic mode a call to an
 * address that a service of this same process listens on is made in process (in-process.ts), with the same contract.
 *
 * @example
 *   const transport = createGrpcTransport({ address: "127.0.0.1:50071", credentials: tls.channel() });
 *   const router = createClient(RouterService, transport);
 *   const res = await router.route(req, { timeoutMs: 500, signal: ctx.signal });
 */
/**
 * A dns:/// or ipv4: target spreads calls over every address it names or resolves to (grpc-js's `round_robin`, a
 * subchannel per replica; one that fails is skipped, a name re-resolved); a plain host:port keeps one connection.
 * A call that fails UNAVAILABLE (its replica went: connection refused or reset) is tried again, on another replica
 * where round_robin has one, within the call's deadline: scoring is safe to repeat, and a replica dying must not
 * fail the calls it held.
 */
function balancing(address: string): grpc.ChannelOptions {
  if (!/^(dns|ipv4):/.test(address)) return {};
  const retryPolicy = {
    maxAttempts: 3,
    initialBackoff: "0.005s",
    maxBackoff: "0.05s",
    backoffMultiplier: 2,
    retryableStatusCodes: ["UNAVAILABLE"],
  };
  return {
    "grpc.service_config": JSON.stringify({
      loadBalancingConfig: [{ round_robin: {} }],
      methodConfig: [{ name: [{}], retryPolicy }],
    }),
  };
}

export function createGrpcTransport(opts: GrpcTransportOptions): ClosableTransport {
  const client = new grpc.Client(opts.address, opts.credentials, {
    ...tlsChannelOptions(opts.address, opts.credentials),
    ...balancing(opts.address),
    ...opts.channelOptions,
  });
  const serializers = new Map<DescMethodUnary, ReturnType<typeof methodSerializers>>();
  return {
    address: opts.address,
    channel: client,
    close: () => client.close(),
    unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: ConstructorParameters<typeof Headers>[0] | undefined,
      input: MessageInitShape<I>,
    ): Promise<UnaryResponse<I, O>> {
      // Monolithic mode: a service of this process answers the address itself, without a socket (in-process.ts).
      const local = inProcessServer(opts.address);
      if (local) return local.unary(method, signal, timeoutMs, header, input);
      let s = serializers.get(method);
      if (!s) {
        s = methodSerializers(method);
        serializers.set(method, s);
      }
      const metadata = header === undefined ? new grpc.Metadata() : headersToMetadata(new Headers(header));
      const parent = context.active();
      const span = startRpcSpan(SpanKind.CLIENT, method.parent.typeName, method.name, parent);
      propagation.inject(trace.setSpan(parent, span), metadata, metadataSetter);
      const deadline = timeoutMs !== undefined ? Date.now() + timeoutMs : Infinity;
      return new Promise((resolve, reject) => {
        if (signal?.aborted) {
          endRpcSpan(span, Code.Canceled);
          reject(ConnectError.from(signal.reason, Code.Canceled));
          return;
        }
        const onAbort = () => call.cancel();
        const call = client.makeUnaryRequest(
          s.path,
          s.serializeInput,
          s.deserializeOutput,
          create(method.input, input),
          metadata,
          { deadline },
          (err, res) => {
            signal?.removeEventListener("abort", onAbort);
            if (err) {
              const ce = fromServiceError(err);
              endRpcSpan(span, ce.code, ce.rawMessage);
              reject(ce);
              return;
            }
            endRpcSpan(span, 0);
            resolve({
              stream: false,
              service: method.parent,
              method,
              header: NO_HEADERS,
              trailer: NO_HEADERS,
              message: res as never,
            });
          },
        );
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    stream() {
      return Promise.reject(
        new ConnectError("streaming calls are not supported by this transport", Code.Unimplemented),
      );
    },
  };
}

function fromServiceError(err: grpc.ServiceError): ConnectError {
  const ce = new ConnectError(
    err.details || grpc.status[err.code] || "error",
    err.code as number,
    metadataToHeaders(err.metadata),
  );
  const bin = err.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (bin instanceof Buffer) ce.details = decodeStatusDetails(bin);
  return ce;
}
