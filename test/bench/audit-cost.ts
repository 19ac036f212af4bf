import { readFileSync } from "node:fs";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

/**
 * The router's CPU per Route call with the audit trail on (records spooled before each answer, shipped to
 * SCOREMESH_AUDIT) and off (ROUTER_AUDIT_SPOOL_DIR=""): a real mesh each, `--calls` public Score calls from
 * `--callers` concurrent clients, the router process's user + system CPU (from /proc) divided by the calls.
 * Meshes alternate over `--rounds`, so a busy machine weighs on both alike.
 * Run: npm run build && node dist/test/bench/audit-cost.js [--calls N] [--callers C] [--rounds R]
 */

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

/** User + system CPU of a process so far, ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function measure(fx: MeshFixture, calls: number, callers: number): Promise<{ cpuUs: number; wallMs: number }> {
  const rows = creditRows(64);
  const pid = fx.mesh.processes.get("router")!.pid!;
  const score = (i: number) => fx.scoring.score({ model: "credit-default", inputs: rows[i % rows.length]! });
  for (let i = 0; i < 300; i++) await score(i); // warm-up
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < calls) await score(next++);
    }),
  );
  return { cpuUs: ((cpuMs(pid) - cpu0) * 1000) / calls, wallMs: performance.now() - t0 };
}

/** on: spooled and shipped; spool-only: shipped only after the measurement (the hot path's share); off: no trail. */
const MODES = ["on", "spool-only", "off"] as const;
const ENV: Record<(typeof MODES)[number], Record<string, string>> = {
  on: {},
  "spool-only": { ROUTER_AUDIT_SHIP_MS: "60000" },
  off: { ROUTER_AUDIT_SPOOL_DIR: "" },
};

const calls = arg("--calls", 3000);
const callers = arg("--callers", 8);
const rounds = arg("--rounds", 2);
for (let r = 1; r <= rounds; r++) {
  for (const mode of MODES) {
    const fx = await startMeshFixture({ LOG_LEVEL: "warn", ...ENV[mode] });
    try {
      const m = await measure(fx, calls, callers);
      console.log(
        `round ${r} audit ${mode}: router CPU ${m.cpuUs.toFixed(0)} µs/call, ${((calls * 1000) / m.wallMs).toFixed(0)} calls/s (${calls} calls, ${callers} callers)`,
      );
    } finally {
      await fx.close();
    }
  }
}
