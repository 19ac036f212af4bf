import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, TensorProto_DataType } from "../../gen/onnx/onnx_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";

/**
 * Does running ONNX Runtime off the event loop pay? `session.run` in onnxruntime-node runs synchronously on the
 * calling thread, so while it runs the worker's event loop cannot serve gRPC. This compares, for the shipped
 * logistic regression, the shipped tree champion and a larger MLP, at batch 1 and 64 with 16 requests in flight:
 *   - main: one session, `run` on the main thread (what the worker does);
 *   - pool-1 / pool-2: one session per worker thread, requests handed over with transferred buffers.
 * It reports rows/s, latency percentiles, and the main thread's busy share (event-loop utilization): the time
 * the worker's gRPC handling would lose.
 * Run: npm run build && node dist/test/bench/worker-threads.js
 */

interface Job {
  id: number;
  data: Float32Array;
  rows: number;
}

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ["cpu"],
  intraOpNumThreads: 1,
  graphOptimizationLevel: "all",
};

if (!isMainThread) {
  const { path, inputName, cols } = workerData as { path: string; inputName: string; cols: number };
  const session = await ort.InferenceSession.create(path, SESSION_OPTIONS);
  const answer = async (job: Job) => {
    const out = await session.run({ [inputName]: new ort.Tensor("float32", job.data, [job.rows, cols]) });
    const first = out[session.outputNames[0]!]!.data as Float32Array;
    const copy = new Float32Array(first);
    parentPort!.postMessage({ id: job.id, out: copy }, [copy.buffer]);
  };
  // A failed run is left unhandled on purpose: it ends this thread, and the bench with the Worker's "error" event.
  parentPort!.on("message", (job: Job) => void answer(job));
  parentPort!.postMessage({ ready: true });
} else {
  await main();
}

/** A dense ReLU network, random weights from a fixed seed: the "larger model" the worker might serve. */
function mlpOnnx(cols: number, hidden: number[]): Uint8Array {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
  const dims = [cols, ...hidden, 1];
  const node = [];
  const initializer = [];
  let x = "features";
  for (let i = 0; i + 1 < dims.length; i++) {
    const [a, b] = [dims[i]!, dims[i + 1]!];
    initializer.push({
      name: `W${i}`,
      dims: [BigInt(a), BigInt(b)],
      dataType: TensorProto_DataType.FLOAT,
      floatData: Array.from({ length: a * b }, rand),
    });
    initializer.push({
      name: `B${i}`,
      dims: [BigInt(b)],
      dataType: TensorProto_DataType.FLOAT,
      floatData: Array.from({ length: b }, rand),
    });
    node.push({ opType: "MatMul", input: [x, `W${i}`], output: [`m${i}`] });
    node.push({ opType: "Add", input: [`m${i}`, `B${i}`], output: [`a${i}`] });
    const last = i + 2 === dims.length;
    node.push({ opType: last ? "Sigmoid" : "Relu", input: [`a${i}`], output: [last ? "probability" : `h${i}`] });
    x = `h${i}`;
  }
  const tensor = (name: string, d: (string | number)[]) => ({
    name,
    type: {
      value: {
        case: "tensorType" as const,
        value: {
          elemType: TensorProto_DataType.FLOAT,
          shape: {
            dim: d.map((v) => ({
              value:
                typeof v === "string"
                  ? { case: "dimParam" as const, value: v }
                  : { case: "dimValue" as const, value: BigInt(v) },
            })),
          },
        },
      },
    },
  });
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: "scoremesh-bench",
      opsetImport: [{ domain: "", version: 17n }],
      graph: {
        name: "mlp",
        node,
        initializer,
        input: [tensor("features", ["N", cols])],
        output: [tensor("probability", ["N", 1])],
      },
    }),
  );
}

interface Runner {
  run(data: Float32Array, rows: number): Promise<unknown>;
  close(): Promise<void>;
}

async function mainRunner(path: string, inputName: string, cols: number): Promise<Runner> {
  const s = await ort.InferenceSession.create(path, SESSION_OPTIONS);
  return {
    run: (data, rows) => s.run({ [inputName]: new ort.Tensor("float32", data, [rows, cols]) }),
    close: () => s.release(),
  };
}

async function poolRunner(path: string, inputName: string, cols: number, threads: number): Promise<Runner> {
  const file = fileURLToPath(import.meta.url);
  const pending = new Map<number, (v: unknown) => void>();
  const workers = await Promise.all(
    Array.from({ length: threads }, () => {
      const w = new Worker(file, { workerData: { path, inputName, cols } });
      return new Promise<Worker>((resolve) => {
        w.once("message", () => {
          w.on("message", (m: { id: number; out: Float32Array }) => {
            pending.get(m.id)?.(m.out);
            pending.delete(m.id);
          });
          resolve(w);
        });
      });
    }),
  );
  let next = 0;
  return {
    run(data, rows) {
      const id = next++;
      const copy = new Float32Array(data); // the caller keeps its buffer; the copy is transferred
      return new Promise((resolve) => {
        pending.set(id, resolve);
        workers[id % workers.length]!.postMessage({ id, data: copy, rows }, [copy.buffer]);
      });
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

async function measure(runner: Runner, cols: number, rows: number, inFlight: number, seconds: number) {
  const data = new Float32Array(rows * cols).map((_, i) => ((i * 7919) % 1000) / 500 - 1);
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) await runner.run(data, rows);
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        await runner.run(data, rows);
        lat.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)]!;
  return { rowsPerS: (lat.length * rows) / elapsed, p50: q(0.5), p99: q(0.99), mainBusy: elu.utilization };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-wt-"));
  const cols = 31;
  const mlpPath = join(dir, "mlp.onnx");
  writeFileSync(mlpPath, mlpOnnx(cols, [256, 256]));
  const models = [
    { name: "logistic regression (v1)", path: join(PROJECT_ROOT, "models/credit-default/1/model.onnx") },
    { name: "trees, 300 x depth 4 (v3)", path: join(PROJECT_ROOT, "models/credit-default/3/model.onnx") },
    { name: "MLP 31-256-256-1", path: mlpPath },
  ];
  const seconds = Number(process.argv[2] ?? 2);
  const results: Record<string, unknown>[] = [];
  console.log(
    `ONNX Runtime on the main thread vs a worker-thread pool; ${cpus().length} cores, Node ${process.version}, 16 requests in flight, ${seconds} s per cell\n`,
  );
  console.log("| model | batch | mode | rows/s | p50 ms | p99 ms | main thread busy |");
  console.log("|---|---:|---|---:|---:|---:|---:|");
  for (const m of models) {
    for (const rows of [1, 64]) {
      for (const mode of ["main", "pool-1", "pool-2"] as const) {
        const runner =
          mode === "main"
            ? await mainRunner(m.path, "features", cols)
            : await poolRunner(m.path, "features", cols, mode === "pool-1" ? 1 : 2);
        const r = await measure(runner, cols, rows, 16, seconds);
        await runner.close();
        results.push({ model: m.name, rows, mode, ...r });
        console.log(
          `| ${m.name} | ${rows} | ${mode} | ${Math.round(r.rowsPerS).toLocaleString("en-US")} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${(100 * r.mainBusy).toFixed(0)} % |`,
        );
      }
    }
  }
  const out = join(PROJECT_ROOT, "test", "bench", "results");
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, "worker-threads.json"),
    JSON.stringify({ node: process.version, cores: cpus().length, results }, null, 2),
  );
}
