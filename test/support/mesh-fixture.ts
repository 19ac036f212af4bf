import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { createClient, type Client } from "@connectrpc/connect";
import { ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { PROJECT_ROOT, randomPorts, startMesh, type Mesh } from "../../deploy/local/mesh.js";
import { createGrpcTransport, type ClosableTransport } from "../../services/lib/rpc/grpc-transport.js";

export interface MeshFixture {
  mesh: Mesh;
  stateDir: string;
  scoring: Client<typeof ScoringService>;
  monitor: Client<typeof MonitorService>;
  httpBase: string;
  /** Runs meshctl against this mesh; resolves with its exit code and output. */
  meshctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

/**
 * Starts a real mesh (nats-server + five processes) on random ports in a temporary folder; `replicas` adds
 * model workers and routers (e.g. `{ workers: 2, routers: 2 }`).
 */
export async function startMeshFixture(env: Record<string, string> = {}, replicas: { workers?: number; routers?: number } = {}): Promise<MeshFixture> {
  const stateDir = mkdtempSync(join(tmpdir(), "scoremesh-e2e-"));
  const mesh = await startMesh({ ports: await randomPorts(), stateDir, env: { LOG_LEVEL: "info", ...env }, ...replicas });
  const transports: ClosableTransport[] = [
    createGrpcTransport({ address: mesh.env["VALIDATOR_GRPC_ADDR"]! }),
    createGrpcTransport({ address: mesh.env["MONITOR_ADDR"]! }),
  ];
  return {
    mesh,
    stateDir,
    scoring: createClient(ScoringService, transports[0]!),
    monitor: createClient(MonitorService, transports[1]!),
    httpBase: `http://${mesh.env["VALIDATOR_HTTP_ADDR"]}`,
    meshctl: (...args) =>
      new Promise((resolve, reject) => {
        const p = spawn(process.execPath, [join(PROJECT_ROOT, "dist/services/meshctl/main.js"), ...args], {
          env: { ...process.env, ...mesh.env },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
        p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
        const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
        p.once("error", reject);
        p.once("exit", (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, stdout, stderr });
        });
      }),
    async close() {
      for (const t of transports) t.close();
      await mesh.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
