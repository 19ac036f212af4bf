import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../../../gen/inference/grpc_predict_v2_pb.js";
import { createGrpcTransport, MeshCredentials } from "../../../../services/lib/rpc/index.js";
import { ServiceHost } from "../../../../services/lib/service/index.js";

/** A server that names itself in ServerMetadata: which replica answered. */
async function replica(name: string, port = 0): Promise<ServiceHost> {
  const host = new ServiceHost({
    name,
    address: `127.0.0.1:${port}`,
    credentials: MeshCredentials.plaintext().server(),
    log: pino({ level: "silent" }),
    drainTimeoutMs: 0,
  });
  host.add(GRPCInferenceService, { serverMetadata: () => ({ name, version: "1", extensions: [] }) });
  await host.listen();
  host.setServing(true);
  return host;
}

test("an ipv4: target spreads calls over its replicas, carries on over one when the other goes, and takes it back", async () => {
  const [a, b] = [await replica("a"), await replica("b")];
  let back: ServiceHost | undefined;
  const transport = createGrpcTransport({
    address: `ipv4:127.0.0.1:${a.port},127.0.0.1:${b.port}`,
    credentials: MeshCredentials.plaintext().channel(),
  });
  try {
    const client = createClient(GRPCInferenceService, transport);
    const answered = async (n: number) => {
      const names: string[] = [];
      for (let i = 0; i < n; i++) names.push((await client.serverMetadata({}, { timeoutMs: 2000 })).name);
      return names;
    };
    const first = await answered(20);
    assert.ok(first.includes("a") && first.includes("b"), `answered by ${first.join("")}`);
    await a.close();
    const after = await answered(10);
    assert.deepEqual([...new Set(after)], ["b"], `after a stopped: ${after.join("")}`);
    back = await replica("a again", a.port);
    let seen: string[] = [];
    for (let i = 0; i < 100 && !seen.includes("a again"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await answered(4);
    }
    assert.ok(seen.includes("a again"), `the replica back on its port got no call: ${seen.join(",")}`);
  } finally {
    transport.close();
    await back?.close();
    await a.close();
    await b.close();
  }
});
