import { Code, ConnectError } from "@connectrpc/connect";
import { retryInfo } from "../../lib/rpc/index.js";

/**
 * The refusals of the edge's authentication and limits. A refusal for rate or quota carries google.rpc.RetryInfo
 * (gRPC) and a `Retry-After` header in whole seconds (HTTP: connect-node answers RESOURCE_EXHAUSTED with 429 and
 * sends an error's metadata as response headers).
 */
export const refuse = {
  unauthenticated: (why: string) =>
    new ConnectError(
      `${why}: send "authorization: Bearer <API key>" (meshctl tenant create NAME makes a tenant and its key)`,
      Code.Unauthenticated,
    ),
  modelNotAllowed: (tenantId: string, model: string) =>
    new ConnectError(
      `tenant ${tenantId} may not use model ${JSON.stringify(model.slice(0, 64))}`,
      Code.PermissionDenied,
    ),
  exhausted: (message: string, retryAfterMs: number) => {
    const retryAfter = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    const err = new ConnectError(message, Code.ResourceExhausted, { "retry-after": retryAfter });
    err.details.push(retryInfo(retryAfterMs));
    return err;
  },
};
