import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT, randomPorts, startMesh, type Mesh, type MeshOptions } from "../../deploy/local/mesh.js";
import { stopProcess } from "../../deploy/local/nats-server.js";
import { MeshCredentials, createGrpcTransport, withBearer } from "../../services/lib/rpc/index.js";
import { MODEL, inputRows, singleRowInfer } from "./bench-model.js";

/** A system under test, as the floor bench drives it: public decisions, direct worker calls, its processes. */
export interface BenchSystem {
  label: string;
  /** The mesh behind it (not for the baseline): its addresses, credentials and processes. */
  mesh?: Mesh;
  /** One public ScoringService/Score call (the i-th input row). */
  score: (i: number) => Promise<unknown>;
  /** One direct single-row ModelInfer to the system's worker (raw FP32, as the router sends); none for the baseline. */
  infer?: (i: number) => Promise<unknown>;
  /** The server processes whose CPU counts (name → pid), nats-server included. */
  pids: Map<string, number>;
  stop: () => Promise<void>;
}

/**
 * Starts a mesh with everything on (mutual TLS between services, API keys, durable audit, the monitor).
 * `monolithic`: the one-process mode (`npm start -- --monolithic`).
 */
export async function startBenchMesh(
  monolithic: boolean,
  env: Record<string, string> = {},
): Promise<BenchSystem | undefined> {
  const stateDir = mkdtempSync(join(tmpdir(), "scoremesh-bench-"));
  const opts: MeshOptions = {
    ports: await randomPorts(),
    stateDir,
    env: { LOG_LEVEL: "warn", ...env },
    readyTimeoutMs: 120_000,
    tls: "mtls",
  };
  let mesh: Mesh;
  try {
    mesh = await startMesh({ ...opts, monolithic });
  } catch (err) {
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
  const stop = async () => {
    await mesh.stop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  return meshSystem(mesh, monolithic ? "monolithic" : "mesh", stop);
}

function meshSystem(mesh: Mesh, label: string, stopMesh: () => Promise<void>): BenchSystem {
  const edgeTransport = createGrpcTransport({
    address: mesh.env["VALIDATOR_GRPC_ADDR"]!,
    credentials: mesh.credentials("validator"),
  });
  const edge = createClient(ScoringService, mesh.apiKey ? withBearer(edgeTransport, mesh.apiKey) : edgeTransport);
  const workerTransport = createGrpcTransport({
    address: mesh.addressOf("model-worker"),
    credentials: mesh.credentials("model-worker"),
  });
  const worker = createClient(GRPCInferenceService, workerTransport);
  // In monolithic mode every service names the same process: count its CPU once.
  const pids = mesh.monolithic
    ? new Map<string, number>([["monolith", [...mesh.processes.values()][0]!.pid!]])
    : new Map<string, number>([...mesh.processes].map(([n, p]) => [n, p.pid!]));
  mesh.natsNodes.forEach((n, i) => pids.set(i ? `nats-${i + 1}` : "nats", n.process.pid!));
  return {
    label,
    mesh,
    pids,
    score: (i) => edge.score({ model: MODEL, inputs: inputRows[i % inputRows.length]! }, { timeoutMs: 5000 }),
    infer: (i) => worker.modelInfer(singleRowInfer(i), { timeoutMs: 5000 }),
    stop: async () => {
      edgeTransport.close();
      workerTransport.close();
      await stopMesh();
    },
  };
}

/** The one-process baseline (test/bench/baseline-server.ts) over plaintext, as the validator's public edge. */
export async function startBaseline(): Promise<BenchSystem> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, "dist", "test", "bench", "baseline-server.js")], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BASELINE_ADDR: "127.0.0.1:0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (l) => {
      const m = /^listening (\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  const transport = createGrpcTransport({
    address: `127.0.0.1:${port}`,
    credentials: MeshCredentials.plaintext().channel(),
  });
  const client = createClient(ScoringService, transport);
  return {
    label: "baseline",
    pids: new Map([["baseline", child.pid!]]),
    score: (i) => client.score({ model: MODEL, inputs: inputRows[i % inputRows.length]! }, { timeoutMs: 5000 }),
    stop: async () => {
      transport.close();
      await stopProcess(child, 10_000);
    },
  };
}
