import { createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { startMeshFixture } from "../support/mesh-fixture.js";
import { MODEL, inputRows, singleRowInfer } from "./bench-model.js";
import { processCpuMs } from "./machine.js";
import { openLoop, quantile } from "./open-loop.js";

/**
 * What a decision adds over a direct single-row ModelInfer, at 50 calls/s (open loop, one call every 20 ms), in
 * the default mode and in monolithic mode (issue 15). Narrow and quick; `npm run bench` is the full account.
 * Run: npm run build && node dist/test/bench/monolith-latency.js [seconds per measurement, default 10]
 */
const seconds = Number(process.argv[2] ?? "10");
const WARM_UP_SECONDS = 2;

/** CPU ms (user + system) the mesh's service processes have used so far (each process once). */
const serviceCpuMs = (pids: Set<number>) => [...pids].reduce((ms, pid) => ms + processCpuMs(pid), 0);

/** p50 and p99 (ms) of `call` made every 20 ms for `seconds` s, after 2 s of warm-up; failed calls are counted. */
async function at50(call: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number; failed: number }> {
  await openLoop(call, 50, WARM_UP_SECONDS, "uniform");
  const { lat, errors } = await openLoop(call, 50, seconds, "uniform");
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), failed: errors };
}

async function measure(monolithic: boolean): Promise<void> {
  const fx = await startMeshFixture({ LOG_LEVEL: "warn" }, { monolithic });
  try {
    const worker = createClient(
      GRPCInferenceService,
      createGrpcTransport({ address: fx.mesh.env["WORKER_ADDR"]!, credentials: fx.mesh.credentials("model-worker") }),
    );
    const infer = await at50((i) => worker.modelInfer(singleRowInfer(i), { timeoutMs: 5000 }));
    const pids = new Set([...fx.mesh.processes.values()].map((p) => p.pid!));
    const cpu0 = serviceCpuMs(pids);
    const score = await at50((i) =>
      fx.scoring.score({ model: MODEL, inputs: inputRows[i % inputRows.length]! }, { timeoutMs: 5000 }),
    );
    // Includes the warm-up calls.
    const cpuUs = ((serviceCpuMs(pids) - cpu0) * 1000) / ((WARM_UP_SECONDS + seconds) * 50);
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
