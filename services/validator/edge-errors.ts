import { Code } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import type { DescService } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { activeTraceId, publicError } from "../lib/rpc/index.js";

/**
 * Wraps every method of a ServiceImpl so that no error a client sees shows the inside of the mesh (see
 * publicError): a downstream transport error keeps its code with a clean message, and the detail goes to the
 * log with the call's trace id. Used for both listeners of the edge.
 */
export function withPublicErrors<S extends DescService>(
  impl: Partial<ServiceImpl<S>>,
  log: Logger,
): Partial<ServiceImpl<S>> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(impl as Record<string, (...a: unknown[]) => unknown>)) {
    out[name] = async (...args: unknown[]) => {
      try {
        return await fn.apply(impl, args);
      } catch (err) {
        const { error, hidden } = publicError(err);
        if (hidden !== undefined) {
          log.warn(
            { traceId: activeTraceId(), rpc: name, code: Code[error.code], detail: hidden },
            "error detail hidden from the client",
          );
        }
        throw error;
      }
    };
  }
  return out as Partial<ServiceImpl<S>>;
}
