import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KvCreateMany } from "../../services/lib/nats/index.js";
import { startKeyedNats } from "../support/nats-keys.js";

/**
 * Client CPU per KV create, in batches of `batch` (what the monitor writes per Record call at a low rate): one
 * `kv.create` per entry, awaited together (what the monitor did), against KvCreateMany (what it does now), as the
 * monitor's identity against a real nats-server.
 * Run: npm run build && node dist/test/bench/kv-create-cost.js [batch=5] [batches=1000]
 */
const batch = Number(process.argv[2] ?? 5);
const batches = Number(process.argv[3] ?? 1000);
const dir = mkdtempSync(join(tmpdir(), "kv-create-cost-"));
const nats = await startKeyedNats(dir);
const nc = await nats.connectAs("monitor");
const kv = await nc.jetstream().views.kv("scoremesh_decisions", { history: 1 });
const many = new KvCreateMany(nc, kv);
const value = new Uint8Array(120).fill(7);
let n = 0;
const keys = () => Array.from({ length: batch }, () => `k${n++}`);
const ways: Record<string, () => Promise<unknown>> = {
  "kv.create each": () => Promise.all(keys().map((k) => kv.create(k, value))),
  KvCreateMany: () =>
    many.createAll(
      keys().map((k) => [k, value] as const),
      1000,
    ),
};
for (let round = 0; round < 2; round++) {
  for (const [name, once] of Object.entries(ways)) {
    for (let i = 0; i < 100; i++) await once();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < batches; i++) await once();
    const c = process.cpuUsage(c0);
    const per = (c.user + c.system) / (batches * batch);
    console.log(
      `${name}: ${per.toFixed(1)} µs CPU per entry (batches of ${batch}; ${(performance.now() - t0).toFixed(0)} ms)`,
    );
  }
}
await nc.close();
await nats.server.stop();
rmSync(dir, { recursive: true, force: true });
