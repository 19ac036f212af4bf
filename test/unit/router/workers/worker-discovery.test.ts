import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import {
  resolveWorkers,
  WorkerDiscovery,
  type WorkerTarget,
} from "../../../../services/router/workers/worker-discovery.js";
import { WorkerPool } from "../../../../services/router/workers/worker-pool.js";

// The router's worker discovery: dns:/// entries resolved to one worker per address. The resolver stands in for
// DNS (this machine's resolver knows one address per name); the pool and its health probes talk to real gRPC
// health servers on two loopback addresses with the same port, as two pods behind a headless Service are.

const servers: grpc.Server[] = [];
after(() => servers.forEach((s) => s.forceShutdown()));

async function healthServer(host: string, port: number): Promise<number> {
  const server = new grpc.Server();
  new HealthImplementation({ "": "SERVING" }).addToServer(server);
  servers.push(server);
  return new Promise((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
}

const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test("a dns:/// entry becomes one target per address, named for TLS by the host; host:port entries stay", async () => {
  const targets = await resolveWorkers(["dns:///model-worker-headless:50081", "10.0.0.9:50081"], async () => [
    "10.1.0.7",
    "10.1.0.5",
    "10.1.0.7",
    "fd00::3",
  ]);
  assert.deepEqual(targets, [
    { address: "10.1.0.5:50081", serverName: "model-worker-headless" },
    { address: "10.1.0.7:50081", serverName: "model-worker-headless" },
    { address: "[fd00::3]:50081", serverName: "model-worker-headless" },
    { address: "10.0.0.9:50081" },
  ]);
});

test("the pool follows the name: a new address is dialled and probed, a gone one leaves the candidates", async () => {
  const port = await healthServer("127.0.0.2", 0);
  await healthServer("127.0.0.3", port);
  let answer = ["127.0.0.2"];
  const seen: WorkerTarget[][] = [];
  const ref: { pool?: WorkerPool } = {};
  const discovery = new WorkerDiscovery(
    [`dns:///workers.test:${port}`],
    (t) => {
      seen.push(t);
      ref.pool?.update(t);
    },
    { intervalMs: 50, resolve: async () => answer },
  );
  const pool = new WorkerPool(await discovery.start(), grpc.credentials.createInsecure(), () => {}, 50);
  ref.pool = pool;
  try {
    const serving = () => pool.candidates().map((e) => e.address);
    await until("the first worker to serve", () => pool.anyServing());
    assert.deepEqual(serving(), [`127.0.0.2:${port}`]);

    answer = ["127.0.0.3", "127.0.0.2"];
    await until("the second worker to be dialled", () => pool.addresses().length === 2);
    await until("both to be candidates, serving", () => new Set(serving().slice(0, 2)).size === 2);
    assert.deepEqual(pool.addresses().sort(), [`127.0.0.2:${port}`, `127.0.0.3:${port}`]);

    answer = ["127.0.0.3"];
    await until("the first worker to leave", () => pool.addresses().length === 1);
    assert.deepEqual(serving(), [`127.0.0.3:${port}`]);

    answer = [];
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(pool.addresses(), [`127.0.0.3:${port}`], "an empty answer keeps the last set");
    assert.equal(seen.length, 2, "one change reported per new set");
  } finally {
    discovery.close();
    pool.close();
  }
});
