import type { Transport } from "@connectrpc/connect";
import type { ClosableTransport } from "./grpc-transport.js";

/** What `new Headers()` takes (connect names it HeadersInit, a DOM type). */
type HeaderInit = ConstructorParameters<typeof Headers>[0];

/**
 * `transport` with "authorization: Bearer <apiKey>" on every call (what the public edge asks of its clients).
 *
 * @example
 *   const scoring = createClient(ScoringService, withBearer(createGrpcTransport({ address }), apiKey));
 */
export function withBearer<T extends Transport | ClosableTransport>(transport: T, apiKey: string): T {
  const authorization = `Bearer ${apiKey}`;
  const withKey = (header: HeaderInit) => {
    const h = new Headers(header);
    h.set("authorization", authorization);
    return h;
  };
  return Object.assign(Object.create(transport) as T, {
    unary: ((method, signal, timeoutMs, header, input, contextValues) =>
      transport.unary(
        method,
        signal,
        timeoutMs,
        withKey(header as HeaderInit),
        input,
        contextValues,
      )) as Transport["unary"],
    stream: ((method, signal, timeoutMs, header, input, contextValues) =>
      transport.stream(
        method,
        signal,
        timeoutMs,
        withKey(header as HeaderInit),
        input,
        contextValues,
      )) as Transport["stream"],
  });
}
