import { createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { FeatureService } from "../../gen/scoremesh/feature/v1/feature_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { buildVector, specHash, ModelRepository } from "../../services/lib/model/index.js";
import { join } from "node:path";
import { PROJECT_ROOT, type InstanceName } from "../../deploy/local/mesh.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture } from "../support/mesh-fixture.js";

/**
 * Latency of each hop of the mesh on its own, one call at a time: where does a decision's time go?
 * Run: npm run build && node dist/test/bench/hop-latency.js
 */
const rows = creditRows(500);
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = repo.spec("credit-default");
const fx = await startMeshFixture({ LOG_LEVEL: "warn" });
const t = (k: string, instance: InstanceName) =>
  createGrpcTransport({ address: fx.mesh.env[k]!, credentials: fx.mesh.credentials(instance) });
const worker = createClient(GRPCInferenceService, t("WORKER_ADDR", "model-worker"));
const router = createClient(RouterService, t("ROUTER_ADDR", "router"));
const feature = createClient(FeatureService, t("FEATURE_ADDR", "feature"));
const edge = fx.scoring;

import { readFileSync } from "node:fs";
function cpuMs(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, p] of fx.mesh.processes) {
    const f = readFileSync(`/proc/${p.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    out[name] = ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  }
  return out;
}

async function measure(name: string, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 300; i++) await fn(i);
  const c0 = cpuMs();
  const lat: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await fn(i);
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.ceil(p * lat.length) - 1]!.toFixed(3);
  const c1 = cpuMs();
  const cpu = Object.keys(c1)
    .map((k) => `${k} ${(((c1[k]! - c0[k]!) * 1000) / lat.length).toFixed(0)}`)
    .join(", ");
  console.log(`| ${name} | ${q(0.5)} | ${q(0.9)} | ${q(0.99)} | ${cpu} |`);
}

console.log(
  "| hop (and everything behind it) | p50 ms | p90 ms | p99 ms | CPU µs per call, by process |\n|---|---:|---:|---:|---|",
);
const vec = (i: number) => Array.from(buildVector(spec, rows[i % rows.length]!).vector);
await measure("worker ModelInfer (typed FP32)", (i) => {
  const v = vec(i);
  return worker.modelInfer({
    modelName: "credit-default",
    modelVersion: "1",
    inputs: [{ name: "features", datatype: "FP32", shape: [1n, BigInt(v.length)], contents: { fp32Contents: v } }],
  });
});
await measure("router Route", (i) =>
  router.route({
    model: "credit-default",
    featureSpecHash: specHash(spec),
    rows: [{ requestId: `r${i}`, features: vec(i) }],
  }),
);
await measure("feature ScoreRows", (i) =>
  feature.scoreRows({ model: "credit-default", rows: [{ requestId: `r${i}`, inputs: rows[i % rows.length]! }] }),
);
await measure("validator Score (the public edge)", (i) =>
  edge.score({ model: "credit-default", inputs: rows[i % rows.length]! }),
);
await fx.close();
process.exit(0);
