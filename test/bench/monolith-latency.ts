import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { buildVector, ModelRepository, seedChampion } from "../../services/lib/model/index.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture } from "../support/mesh-fixture.js";

/**
 * What a decision adds over a direct single-row ModelInfer, at 50 calls/s (open loop, one call every 20 ms), in
 * the default mode and in monolithic mode (issue 15). Narrow and quick; `npm run bench` is the full account.
 * Run: npm run build && node dist/test/bench/monolith-latency.js [seconds per measurement, default 10]
 */
const MODEL = "credit-default";
const seconds = Number(process.argv[2] ?? "10");
const rows = creditRows(500);
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = repo.spec(MODEL);
const version = seedChampion(repo.versions(MODEL).map((v) => repo.card(MODEL, v)))!;
const raw = rows.map((r) => {
  const v = Float32Array.from(buildVector(spec, r).vector);
  return new Uint8Array(v.buffer);
});
const cols = raw[0]!.byteLength / 4;

/** CPU seconds (user + system) the mesh's service processes have used so far (each process once). */
function serviceCpuSeconds(pids: Set<number>): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / 100;
}

/** p50 and p99 (ms) of `call` made every 20 ms for `seconds` s, after 2 s of warm-up. */
async function at50(call: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number; failed: number }> {
  let failed = 0;
  const run = async (n: number) => {
    const lat: number[] = [];
    const t0 = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const wait = t0 + i * 20 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s = performance.now();
      // A failed call (an overloaded machine: DEADLINE_EXCEEDED) is counted, not timed; the run goes on.
      pending.push(
        call(i).then(
          () => lat.push(performance.now() - s),
          () => failed++,
        ),
      );
    }
    await Promise.all(pending);
    return lat.sort((a, b) => a - b);
  };
  await run(100);
  failed = 0;
  const lat = await run(seconds * 50);
  const q = (p: number) => lat[Math.ceil(p * lat.length) - 1]!;
  return { p50: q(0.5), p99: q(0.99), failed };
}

async function measure(monolithic: boolean): Promise<void> {
  const fx = await startMeshFixture({ LOG_LEVEL: "warn" }, { monolithic });
  try {
    const worker = createClient(
      GRPCInferenceService,
      createGrpcTransport({ address: fx.mesh.env["WORKER_ADDR"]!, credentials: fx.mesh.credentials("model-worker") }),
    );
    const infer = await at50((i) =>
      worker.modelInfer(
        {
          modelName: MODEL,
          modelVersion: version,
          inputs: [{ name: "features", datatype: "FP32", shape: [1n, BigInt(cols)] }],
          rawInputContents: [raw[i % raw.length]!],
        },
        { timeoutMs: 5000 },
      ),
    );
    const pids = new Set([...fx.mesh.processes.values()].map((p) => p.pid!));
    const cpu0 = serviceCpuSeconds(pids);
    const score = await at50((i) =>
      fx.scoring.score({ model: MODEL, inputs: rows[i % rows.length]! }, { timeoutMs: 5000 }),
    );
    // Includes the 100 warm-up calls: (100 + seconds × 50) decisions.
    const cpuUs = ((serviceCpuSeconds(pids) - cpu0) * 1e6) / (100 + seconds * 50);
    const mode = monolithic ? "monolithic" : "default (microservices)";
    const f = (n: number) => n.toFixed(2);
    console.log(
      `| ${mode} | ${f(infer.p50)} | ${f(score.p50)} | ${f(score.p50 - infer.p50)} | ${f(infer.p99)} | ${f(score.p99)} | ${cpuUs.toFixed(0)} | ${infer.failed + score.failed} |`,
    );
  } finally {
    await fx.close();
  }
}

console.log(
  "| mode | ModelInfer p50 ms | Score p50 ms | Score − ModelInfer p50 ms | ModelInfer p99 ms | Score p99 ms | server CPU µs per Score | failed calls |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
await measure(false);
await measure(true);
process.exit(0);
