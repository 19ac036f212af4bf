import { Code, ConnectError } from "@connectrpc/connect";

/**
 * What a client at the edge may read of an error. A ConnectError our own services raised on purpose keeps its
 * code, message and details; anything that would show the inside of the mesh (a transport's message naming an
 * address or errno, a stack, an error that is not a ConnectError) becomes a clean message for its code, and
 * `hidden` holds the original text for the log (with the trace id), never for the client.
 *
 * @example
 *   const { error, hidden } = publicError(err);
 *   if (hidden) log.warn({ traceId, code: Code[error.code], detail: hidden }, "error detail hidden from the client");
 *   throw error;
 */
export function publicError(err: unknown): { error: ConnectError; hidden?: string } {
  if (!(err instanceof ConnectError)) {
    return { error: new ConnectError(INTERNAL, Code.Internal), hidden: describe(err) };
  }
  if (!LEAKS.test(err.rawMessage)) return { error: err };
  const error = new ConnectError(ownPart(err.rawMessage) ?? CLEAN[err.code] ?? INTERNAL, err.code);
  error.details.push(...err.details);
  return { error, hidden: err.rawMessage };
}

/** Texts that only a transport or a runtime writes: addresses, errno names, grpc-js's own phrases, stack frames. */
const LEAKS = new RegExp(
  [
    String.raw`\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b`, // IPv4 (with port)
    String.raw`\[[0-9a-f:]+\](:\d+)?`, // [IPv6]:port
    String.raw`\blocalhost:\d+`,
    String.raw`\bE[A-Z]{3,}\b`, // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE ...
    "No connection established",
    "Connection dropped",
    "Call cancelled",
    "Last error",
    "RST_STREAM",
    "remote_addr",
    "Resolution note",
    "Received HTTP status code",
    String.raw`\n\s+at `, // a stack frame
  ].join("|"),
);

const INTERNAL = "internal error in the scoring service";

const CLEAN: Partial<Record<Code, string>> = {
  [Code.Unavailable]: "the scoring service is unavailable; retry later",
  [Code.DeadlineExceeded]: "the deadline passed before the scoring service answered",
  [Code.Canceled]: "the call was cancelled",
  [Code.ResourceExhausted]: "the scoring service is overloaded; retry later",
};

/**
 * Our own services put a cause in parentheses after what they say ("no model of m could answer … (UNAVAILABLE:
 * <the transport's words>)"): the part before the first parenthesis, when it shows nothing of the inside.
 */
function ownPart(message: string): string | undefined {
  const cut = message.indexOf(" (");
  if (cut < 10) return undefined;
  const own = message.slice(0, cut);
  return LEAKS.test(own) ? undefined : `${own} (detail in the service's log)`;
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
