import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient, type HandlerContext } from "@connectrpc/connect";
import { pino } from "pino";
import { FeatureService, type ScoreRowsRequest } from "../../../../gen/scoremesh/feature/v1/feature_pb.js";
import {
  context,
  createGrpcTransport,
  enableInProcessCalls,
  fieldViolations,
  invalidArgument,
  trace,
  tracer,
  type ClosableTransport,
} from "../../../../services/lib/rpc/index.js";
import { ServiceHost, startTelemetry } from "../../../../services/lib/service/index.js";
import { rejectionOf } from "../../../support/in-process.js";

/** What the handler saw of its last call. */
interface Seen {
  req?: ScoreRowsRequest;
  protocol?: string;
  timeoutMs?: number;
  authorization?: string | null;
  traceparent?: string | null;
  traceId?: string;
  aborted?: unknown;
}

/**
 * Monolithic mode's in-process hop (services/lib/rpc/in-process.ts): a transport made by createGrpcTransport to an
 * address that a ServiceHost of this process listens on calls the handler directly, with the contract of a gRPC
 * call: deadline and cancellation, headers and W3C trace context, errors with their details, a draining server.
 */
describe("in-process calls (monolithic mode)", () => {
  const telemetry = startTelemetry("in-process-test");
  enableInProcessCalls();
  const seen: Seen = {};
  let release: () => void = () => undefined;
  const host = new ServiceHost({
    name: "feature",
    address: "127.0.0.1:0",
    credentials: grpc.ServerCredentials.createInsecure(),
    log: pino({ level: "silent" }),
  });
  host.add(FeatureService, {
    async scoreRows(req, ctx: HandlerContext) {
      Object.assign(seen, {
        req,
        protocol: ctx.protocolName,
        timeoutMs: ctx.timeoutMs(),
        authorization: ctx.requestHeader.get("authorization"),
        traceparent: ctx.requestHeader.get("traceparent"),
        traceId: trace.getActiveSpan()?.spanContext().traceId,
      });
      ctx.signal.addEventListener("abort", () => {
        seen.aborted = ctx.signal.reason as unknown;
      });
      if (req.model === "bad") throw invalidArgument([{ field: "rows[0].inputs.AGE", reason: "R", description: "d" }]);
      if (req.model === "bug") throw new Error("secret internals");
      if (req.model === "slow") await new Promise<void>((r) => (release = r));
      return { decisions: [{ requestId: req.rows[0]?.requestId ?? "" }] };
    },
  });
  let transport: ClosableTransport;
  let client: ReturnType<typeof createClient<typeof FeatureService>>;

  before(async () => {
    await host.listen();
    host.setServing(true);
    transport = createGrpcTransport({
      address: `127.0.0.1:${host.port}`,
      credentials: grpc.credentials.createInsecure(),
    });
    client = createClient(FeatureService, transport);
  });
  after(async () => {
    transport.close();
    await host.close();
    await telemetry.shutdown();
  });

  test("the handler answers in process, with the caller's headers and a server span in the caller's trace", async () => {
    const parent = tracer.startSpan("caller");
    const res = await context.with(trace.setSpan(context.active(), parent), () =>
      client.scoreRows(
        { model: "m", rows: [{ requestId: "r1", inputs: { AGE: 30 } }] },
        { headers: { authorization: "Bearer k" }, timeoutMs: 5000 },
      ),
    );
    parent.end();
    assert.equal(res.decisions[0]?.requestId, "r1");
    assert.equal(seen.protocol, "in-process", "no socket: the in-process handler context");
    assert.equal(seen.req?.rows[0]?.inputs["AGE"], 30);
    assert.equal(seen.authorization, "Bearer k");
    assert.equal(seen.traceId, parent.spanContext().traceId, "the handler runs in the caller's trace");
    assert.match(seen.traceparent ?? "", new RegExp(`^00-${parent.spanContext().traceId}-[0-9a-f]{16}-0[01]$`));
    assert.ok(seen.timeoutMs !== undefined && seen.timeoutMs <= 5000 && seen.timeoutMs > 4000, `${seen.timeoutMs}`);
  });

  test("errors keep their code, message and details; an unexpected error is INTERNAL without its message", async () => {
    const bad = await rejectionOf(client.scoreRows({ model: "bad" }));
    assert.equal(bad.code, Code.InvalidArgument);
    assert.deepEqual(
      fieldViolations(bad).map((v) => v.field),
      ["rows[0].inputs.AGE"],
    );
    const bug = await rejectionOf(client.scoreRows({ model: "bug" }));
    assert.deepEqual([bug.code, bug.rawMessage], [Code.Internal, "internal error"]);
  });

  test("the deadline passes: DEADLINE_EXCEEDED for the caller, the handler's signal aborted", async () => {
    seen.aborted = undefined;
    const err = await rejectionOf(client.scoreRows({ model: "slow" }, { timeoutMs: 30 }));
    assert.equal(err.code, Code.DeadlineExceeded);
    assert.equal(ConnectError.from(seen.aborted).code, Code.DeadlineExceeded);
    release();
  });

  test("the caller cancels: CANCELED for the caller, the handler's signal aborted", async () => {
    seen.aborted = undefined;
    const abort = new AbortController();
    const call = rejectionOf(client.scoreRows({ model: "slow" }, { signal: abort.signal }));
    await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    assert.equal((await call).code, Code.Canceled);
    assert.equal(ConnectError.from(seen.aborted).code, Code.Canceled);
    release();
    const already = await rejectionOf(client.scoreRows({ model: "m" }, { signal: abort.signal }));
    assert.equal(already.code, Code.Canceled, "an aborted signal never reaches the handler");
  });

  test("a draining server finishes the call it holds and refuses new ones UNAVAILABLE", async () => {
    const held = client.scoreRows({ model: "slow", rows: [{ requestId: "held" }] }, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 10));
    const closed = host.close();
    const refused = await rejectionOf(client.scoreRows({ model: "m" }, { timeoutMs: 1000 }));
    assert.equal(refused.code, Code.Unavailable);
    release();
    assert.equal((await held).decisions[0]?.requestId, "held");
    await closed;
  });
});
