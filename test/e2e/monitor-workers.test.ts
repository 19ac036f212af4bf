/**
 * The monitor's "Model workers" table, from the records the workers keep in the JetStream KV bucket
 * scoremesh_workers: a real mesh (its worker on the default providers, which is CPU on a machine without the
 * CUDA provider), then a second worker started beside it that asks for `cuda,cpu`. Where CUDA cannot load (no
 * CUDA provider library or no GPU: the CPU build of onnxruntime-node), that worker falls back to CPU and the
 * page, /stats.json and /metrics say so with ONNX Runtime's reason. On SIGTERM the worker deletes its record
 * and the monitor drops it at once (well before the record's 30 s TTL).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { PROJECT_ROOT, spawnService } from "../../deploy/local/mesh.js";
import { stopProcess } from "../../deploy/local/nats-server.js";
import { freePort } from "../../deploy/local/ports.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { HealthProbe, createGrpcTransport } from "../../services/lib/rpc/index.js";
import { cudaProviderInstalled } from "../../services/model-worker/execution-providers.js";
import { meshctlEnv, runMeshctl, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

/** Every model of the repository the mesh serves: a worker loads them all. */
const MODELS = new ModelRepository(join(PROJECT_ROOT, "models")).models();

/** A worker as /stats.json lists it. */
interface WorkerJson {
  address: string;
  instance: string;
  pid: number;
  providers_requested: string[];
  providers_active: string[];
  cpu_fallback: boolean;
  fallback_reason: string | null;
  models: { model: string; version: string; provider: string; ready: boolean }[];
  ready: string[];
}

/** Polls `fn` every 100 ms until it returns a value, failing with `what` after `timeoutMs`. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the monitor shows the model workers, their execution providers and a CPU fallback", () => {
  let fx: MeshFixture;
  let monitorHttp: string;
  const workers = async () =>
    ((await (await fetch(`${monitorHttp}/stats.json`)).json()) as { workers: WorkerJson[] }).workers;
  const workerAt = (address: string) => async () => (await workers()).find((w) => w.address === address);
  /** The model versions a worker has loaded ("model/version", model by model), as it answers ModelMetadata. */
  const loadedVersions = async (address: string) => {
    const transport = createGrpcTransport({ address, credentials: fx.mesh.credentials("model-worker") });
    try {
      const client = createClient(GRPCInferenceService, transport);
      const loaded: string[] = [];
      for (const model of MODELS) {
        const md = await client.modelMetadata({ name: model }, { timeoutMs: 2000 });
        loaded.push(...md.versions.map((v) => `${model}/${v}`));
      }
      return loaded;
    } finally {
      transport.close();
    }
  };

  before(async () => {
    fx = await startMeshFixture();
    monitorHttp = `http://${fx.mesh.env["MONITOR_HTTP_ADDR"]}`;
  });
  after(async () => {
    await fx?.close();
  });

  test("the mesh's worker is listed with providers [cpu], no fallback, and its ready model versions", async () => {
    const address = fx.mesh.addressOf("model-worker");
    const w = await until("the worker's record on the monitor", workerAt(address));
    const versions = await loadedVersions(address);
    assert.ok(versions.length > 0);
    assert.equal(w.pid, fx.mesh.processes.get("model-worker")!.pid);
    assert.deepEqual(
      w.providers_requested,
      ["cpu"],
      "WORKER_EXECUTION_PROVIDERS=auto without the CUDA provider is cpu",
    );
    assert.deepEqual(w.providers_active, ["cpu"]);
    assert.equal(w.cpu_fallback, false);
    assert.equal(w.fallback_reason, null);
    assert.deepEqual(w.ready, versions, "every version the worker serves is ready, in model and version order");
    assert.ok(w.models.every((m) => m.provider === "cpu" && m.ready));

    const page = await (await fetch(`${monitorHttp}/table`)).text();
    assert.match(page, /<h2>Model workers<\/h2>/);
    assert.ok(page.includes(address), "the page lists the worker's address");
    assert.doesNotMatch(page, /CPU fallback/);
    const metrics = await (await fetch(`${monitorHttp}/metrics`)).text();
    assert.match(metrics, new RegExp(`^scoremesh_worker_cpu_fallback\\{worker="${address}",[^}]*\\} 0$`, "m"));
    assert.match(
      metrics,
      new RegExp(`^scoremesh_worker_model_versions_ready\\{worker="${address}",[^}]*\\} ${versions.length}$`, "m"),
    );
  });

  test(
    "a worker asked for cuda,cpu where CUDA cannot load runs on CPU, and the page, /stats.json and /metrics say why; SIGTERM removes it",
    { skip: cudaProviderInstalled() ? "the CUDA provider is installed here: CUDA may well load" : false },
    async () => {
      const address = `127.0.0.1:${await freePort()}`;
      const logFile = join(fx.mesh.logDir, "model-worker-cuda.log");
      const out = openSync(logFile, "a");
      let child: ChildProcess | undefined;
      try {
        child = spawnService(
          "model-worker",
          {
            ...fx.mesh.envOf("model-worker"),
            WORKER_ADDR: address,
            WORKER_EXECUTION_PROVIDERS: "cuda,cpu",
            LOG_LEVEL: "info",
          },
          ["ignore", out, out],
        );
        const probe = new HealthProbe(address, fx.mesh.credentials("model-worker"));
        try {
          await until(
            "the cuda,cpu worker to report SERVING",
            async () => {
              assert.equal(child!.exitCode, null, `the worker exited; its log:\n${readFileSync(logFile, "utf8")}`);
              return (await probe.check("", 500)) === "SERVING" ? true : undefined;
            },
            60_000,
          );
        } finally {
          probe.close();
        }
        const w = await until("the cuda,cpu worker's record on the monitor", async () => {
          const x = await workerAt(address)();
          return x && x.ready.length > 0 ? x : undefined;
        });
        assert.deepEqual(w.providers_requested, ["cuda", "cpu"]);
        assert.deepEqual(w.providers_active, ["cpu"]);
        assert.equal(w.cpu_fallback, true);
        assert.match(w.fallback_reason ?? "", /^cuda: \S/, "the reason is ONNX Runtime's error for cuda");
        assert.deepEqual(w.ready, await loadedVersions(address));
        console.log(`# ${address}: cuda,cpu requested, running on cpu; ${w.fallback_reason}`);

        const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
        const page = await (await fetch(`${monitorHttp}/table`)).text();
        assert.ok(
          page.includes(`CPU fallback: ${esc(w.fallback_reason!)}`),
          "the page shows the fallback and its reason",
        );
        const metrics = await (await fetch(`${monitorHttp}/metrics`)).text();
        assert.match(metrics, new RegExp(`^scoremesh_worker_cpu_fallback\\{worker="${address}",[^}]*\\} 1$`, "m"));
        // The alert engine's cpu_fallback rule (evaluated every 5 s): one alert per ready version, value 1, pending
        // for its hold time; meshctl alerts lists it.
        const alert = await until("the cpu_fallback alert", async () => {
          const run = await runMeshctl(meshctlEnv(fx.mesh), ["alerts", "--json"]);
          assert.equal(run.code, 0, run.stderr);
          const { alerts } = JSON.parse(run.stdout) as { alerts: Record<string, unknown>[] };
          return alerts.find((a) => a["rule"] === "cpu_fallback" && a["subject"] === address);
        });
        assert.equal(alert["value"], 1);
        assert.match(String(alert["state"]), /^ALERT_STATE_(PENDING|FIRING)$/);
        assert.ok(w.ready.includes(`${String(alert["model"])}/${String(alert["modelVersion"])}`), "a ready version");
        const logged = readFileSync(logFile, "utf8")
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l["msg"] === "execution provider could not load; falling back");
        assert.equal(logged?.["provider"], "cuda", "the worker's log says so too");
        assert.equal(logged["fellBackTo"], "cpu");

        const stoppedAt = Date.now();
        await stopProcess(child, 15_000);
        assert.equal(child.exitCode, 0, "a graceful stop");
        await until(
          "the stopped worker to leave the monitor's table",
          async () => ((await workerAt(address)()) ? undefined : true),
          10_000,
        );
        console.log(
          `# the stopped worker left the monitor's table ${Date.now() - stoppedAt} ms after SIGTERM (its record's TTL is 30 s)`,
        );
        assert.ok(await workerAt(fx.mesh.addressOf("model-worker"))(), "the mesh's own worker is still listed");
      } finally {
        if (child && child.exitCode === null && child.signalCode === null) await stopProcess(child, 15_000);
        closeSync(out);
      }
    },
  );
});
