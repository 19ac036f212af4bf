import type { DescService } from "@bufbuild/protobuf";
import {
  ConnectError,
  createClient,
  createRouterTransport,
  type Client,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";

/**
 * A client of `impl` over connect's in-memory transport: requests, responses and errors (with their details)
 * are serialized as on the wire, deadlines and cancellation travel, but no socket is opened. Used both to serve
 * a service's real routes and to fake its neighbours.
 *
 * @example
 *   const feature = inProcessClient(FeatureService, { scoreRows: async (req) => ({ decisions: [] }) });
 *   const scoring = inProcessClient(ScoringService, scoringRoutes({ feature, ... }));
 */
export function inProcessClient<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): Client<S> {
  return createClient(
    service,
    createRouterTransport((router) => router.service(service, impl)),
  );
}

/** What a fake neighbour saw of one call: the request and the deadline left when it arrived. */
export interface SeenCall<Req> {
  req: Req;
  timeoutMs: number | undefined;
}

/** Records a fake neighbour's calls: `record(req, ctx)` inside the fake, then read `calls`. */
export class CallLog<Req> {
  readonly calls: SeenCall<Req>[] = [];

  record(req: Req, ctx: HandlerContext): void {
    this.calls.push({ req, timeoutMs: ctx.timeoutMs() });
  }

  /** The only call made; fails the test when there were none or several. */
  single(): SeenCall<Req> {
    if (this.calls.length !== 1) throw new Error(`expected exactly one call, got ${this.calls.length}`);
    return this.calls[0]!;
  }
}

/** The ConnectError a call fails with; fails the test when the call succeeds. */
export async function rejectionOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail, it succeeded");
}
