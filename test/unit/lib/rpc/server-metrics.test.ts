import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import pino from "pino";
import { ScoringService } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { createGrpcTransport, grpcCodeName, MeshCredentials } from "../../../../services/lib/rpc/index.js";
import { ServiceHost, ServiceMetrics } from "../../../../services/lib/service/index.js";

/** The value of one series in Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("gRPC codes are named as grpc-go names them", () => {
  assert.equal(grpcCodeName(0), "OK");
  assert.equal(grpcCodeName(3), "INVALID_ARGUMENT");
  assert.equal(grpcCodeName(4), "DEADLINE_EXCEEDED");
  assert.equal(grpcCodeName(16), "UNAUTHENTICATED");
  assert.equal(grpcCodeName(99), "99");
});

test("every answered RPC is counted by method and code, and timed, at the shared gRPC server", async () => {
  const metrics = new ServiceMetrics("validator");
  const host = new ServiceHost({
    name: "validator",
    address: "127.0.0.1:0",
    credentials: MeshCredentials.plaintext().server(),
    log: pino({ level: "silent" }),
    metrics,
  });
  host.add(ScoringService, {
    score(req) {
      if (req.model === "bad") throw new ConnectError("bad model", Code.InvalidArgument);
      if (req.model === "boom") throw new Error("a bug");
      return {};
    },
  });
  const port = await host.listen();
  const transport = createGrpcTransport({
    address: `127.0.0.1:${port}`,
    credentials: MeshCredentials.plaintext().channel(),
  });
  try {
    const client = createClient(ScoringService, transport);
    await client.score({ model: "ok" });
    await client.score({ model: "ok" });
    await assert.rejects(client.score({ model: "bad" }));
    await assert.rejects(client.score({ model: "boom" }));
    await assert.rejects(client.scoreBatch({}));
    const text = await metrics.registry.metrics();
    const s = (method: string, code: string) =>
      sample(
        text,
        `rpc_server_requests_total{rpc_service="scoremesh.scoring.v1.ScoringService",rpc_method="${method}",grpc_code="${code}",service="validator"}`,
      );
    assert.equal(s("Score", "OK"), 2);
    assert.equal(s("Score", "INVALID_ARGUMENT"), 1);
    assert.equal(s("Score", "UNKNOWN"), 1, "a bug is answered with the code the client gets");
    assert.equal(s("ScoreBatch", "UNIMPLEMENTED"), 1);
    assert.equal(s("ScoreBatch", "OK"), 0, "a method's OK series exists from the start");
    const count = sample(
      text,
      `rpc_server_duration_seconds_count{service="validator",rpc_service="scoremesh.scoring.v1.ScoringService",rpc_method="Score"}`,
    );
    assert.equal(count, 4);
  } finally {
    transport.close();
    await host.close();
  }
});

test("a ServiceHost with a metrics address serves them over HTTP from listen() until close()", async () => {
  const host = new ServiceHost({
    name: "feature",
    address: "127.0.0.1:0",
    credentials: MeshCredentials.plaintext().server(),
    log: pino({ level: "silent" }),
    metrics: new ServiceMetrics("feature", "127.0.0.1:0"),
  });
  await host.listen();
  const url = `http://127.0.0.1:${host.metricsPort}/metrics`;
  assert.ok(host.metricsPort > 0);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /process_resident_memory_bytes\{service="feature"\}/);
  await host.close();
  await assert.rejects(fetch(url));
});
