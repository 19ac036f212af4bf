import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture } from "../support/mesh-fixture.js";

/**
 * Latency and throughput of the whole mesh from the public gRPC edge (five processes and NATS on this machine),
 * closed loop: `concurrency` callers each send the next request as soon as the last one is answered.
 * Run: npm run build && node dist/test/bench/mesh-latency.js
 */
const MODEL = "credit-default";

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

async function main(): Promise<void> {
  const rows = creditRows(2000);
  const fx = await startMeshFixture({ LOG_LEVEL: "warn" });
  const results: Record<string, unknown>[] = [];
  try {
    const run = async (concurrency: number, seconds: number) => {
      const lat: number[] = [];
      let errors = 0;
      let next = 0;
      const end = performance.now() + seconds * 1000;
      const caller = async () => {
        while (performance.now() < end) {
          const inputs = rows[next++ % rows.length]!;
          const t0 = performance.now();
          try {
            await fx.scoring.score({ model: MODEL, inputs }, { timeoutMs: 5000 });
            lat.push(performance.now() - t0);
          } catch {
            errors++;
          }
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: concurrency }, caller));
      const elapsed = (performance.now() - t0) / 1000;
      lat.sort((a, b) => a - b);
      return {
        concurrency,
        calls: lat.length,
        errors,
        rps: lat.length / elapsed,
        p50: quantile(lat, 0.5),
        p95: quantile(lat, 0.95),
        p99: quantile(lat, 0.99),
      };
    };
    await run(4, 2); // warm-up
    for (const c of [1, 4, 16, 64]) results.push(await run(c, 5));
  } finally {
    await fx.close();
  }
  console.log(
    `\nmesh from the public gRPC edge, closed loop, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}\n`,
  );
  console.log("| callers | calls/s | p50 ms | p95 ms | p99 ms | errors |");
  console.log("|---:|---:|---:|---:|---:|---:|");
  for (const r of results as {
    concurrency: number;
    rps: number;
    p50: number;
    p95: number;
    p99: number;
    errors: number;
  }[]) {
    console.log(
      `| ${r.concurrency} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`,
    );
  }
  const dir = join(PROJECT_ROOT, "test", "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "mesh-latency.json"),
    JSON.stringify({ node: process.version, cores: cpus().length, results }, null, 2),
  );
}

await main();
