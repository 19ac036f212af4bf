import { createClient } from "@connectrpc/connect";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { buildVector, specHash, ModelRepository } from "../../services/lib/model/index.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture } from "../support/mesh-fixture.js";

/**
 * Where a process's CPU goes by thread (user and system time, from /proc/<pid>/task), for sequential Route calls.
 * Run: npm run build && node dist/test/bench/thread-cpu.js
 */
const rows = creditRows(500);
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = repo.spec("credit-default");
const fx = await startMeshFixture({ LOG_LEVEL: "warn" });
const router = createClient(
  RouterService,
  createGrpcTransport({ address: fx.mesh.env["ROUTER_ADDR"]!, credentials: fx.mesh.credentials("router") }),
);
const vec = (i: number) => Array.from(buildVector(spec, rows[i % rows.length]!).vector);
const call = (i: number) =>
  router.route({
    model: "credit-default",
    featureSpecHash: specHash(spec),
    rows: [{ requestId: `r${i}`, features: vec(i) }],
  });

function threads(pid: number): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const raw = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const name = raw.slice(raw.indexOf("(") + 1, raw.lastIndexOf(")"));
    const f = raw.split(") ")[1]!.split(" ");
    out.set(`${tid} ${name}`, [Number(f[11]) * 10, Number(f[12]) * 10]);
  }
  return out;
}
for (let i = 0; i < 300; i++) await call(i);
const pids = [...fx.mesh.processes].filter(([n]) => n === "router" || n === "model-worker" || n === "monitor");
const before = new Map(pids.map(([n, p]) => [n, threads(p.pid!)]));
const n = 2000;
const t0 = performance.now();
for (let i = 0; i < n; i++) await call(i);
const wall = performance.now() - t0;
console.log(`${n} sequential Route calls in ${wall.toFixed(0)} ms`);
for (const [name, p] of pids) {
  const after = threads(p.pid!);
  for (const [t, [u, s]] of after) {
    const [u0, s0] = before.get(name)!.get(t) ?? [0, 0];
    if (u - u0 + s - s0 > 0)
      console.log(
        `${name} ${t}: user ${(((u - u0) * 1000) / n).toFixed(0)} µs/call, system ${(((s - s0) * 1000) / n).toFixed(0)} µs/call`,
      );
  }
}
await fx.close();
process.exit(0);
