import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { scoreUntilStopped } from "../support/drain-load.js";
import { PROJECT_ROOT, type ServiceName } from "../../deploy/local/mesh.js";
import { freePort } from "../../deploy/local/ports.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";

/** A minimal OTLP/HTTP receiver: keeps the raw bodies POSTed to /v1/traces. */
async function startOtlpReceiver(): Promise<{ server: Server; port: number; bodies: Buffer[] }> {
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (req.url === "/v1/traces") bodies.push(req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body);
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { server, port, bodies };
}

describe("tracing, shutdown and configuration", () => {
  let fx: MeshFixture;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  const rows = creditRows(50);

  before(async () => {
    otlp = await startOtlpReceiver();
    fx = await startMeshFixture({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp.port}`,
      OTEL_BSP_SCHEDULE_DELAY: "100",
    });
  });
  after(async () => {
    await fx?.close();
    otlp?.server.close();
  });

  test("every hop exports its span of the call's trace over OTLP", async () => {
    const res = await fx.scoring.score({ model: MODEL, inputs: rows[0]! }, { timeoutMs: 5000 });
    const traceId = Buffer.from(res.traceId, "hex");
    const services = ["scoremesh-validator", "scoremesh-feature", "scoremesh-router", "scoremesh-model-worker"];
    const seen = new Set<string>();
    for (let i = 0; i < 100 && seen.size < services.length; i++) {
      for (const body of otlp.bodies) {
        if (!body.includes(traceId)) continue;
        for (const s of services) if (body.includes(Buffer.from(s))) seen.add(s);
      }
      if (seen.size < services.length) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([...seen].sort(), [...services].sort());
    const all = Buffer.concat(otlp.bodies);
    assert.ok(
      all.includes(Buffer.from("scoremesh.scoring.v1.ScoringService/Score")),
      "span names follow /package.Service/Method",
    );
    assert.ok(all.includes(Buffer.from("inference.GRPCInferenceService/ModelInfer")));
  });

  test("SIGTERM drains the edge: calls it accepted complete, later ones are refused, exit code 0", async () => {
    const validator = fx.mesh.processes.get("validator")!;
    const load = scoreUntilStopped(fx.scoring, MODEL, rows);
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<number | null>((r) => validator.once("exit", (code) => r(code)));
    validator.kill("SIGTERM");
    assert.equal(await exited, 0);
    await new Promise((r) => setTimeout(r, 200));
    await load.stop();
    assert.ok(load.ok() > 0);
    assert.ok(load.codes.length > 0, "calls after the shutdown are refused");
    assert.deepEqual(
      [...new Set(load.codes)],
      [Code.Unavailable],
      "no call was cut off mid-way (only UNAVAILABLE: nobody listening)",
    );

    await fx.mesh.startService("validator");
    // The client's channel, refused while the validator was down, reconnects with its own backoff (grpc-js): the
    // restarted validator must answer once it has (UNAVAILABLE retried for up to 15 s, nothing else).
    const end = Date.now() + 15_000;
    const answer = async (): Promise<{ model: string }> => {
      try {
        return await fx.scoring.score({ model: MODEL, inputs: rows[1]! }, { timeoutMs: 5000 });
      } catch (err) {
        if (ConnectError.from(err).code !== Code.Unavailable || Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 200));
        return answer();
      }
    };
    assert.equal((await answer()).model, MODEL);
  });

  test("a malformed setting stops a service at start-up, naming the variable", async () => {
    const out = await runUntilExit("router", {
      ...process.env,
      ...fx.mesh.env,
      ROUTER_WORKER_ADDRS: "127.0.0.1:1,not-an-address",
    });
    assert.equal(out.code, 2);
    const line = lastLogLine(out.text);
    assert.equal(line["level"], "fatal");
    assert.equal(line["variable"], "ROUTER_WORKER_ADDRS");
    assert.match(String(line["msg"]), /ROUTER_WORKER_ADDRS: must be host:port/);
  });

  test("a service started without its peer address exits 2 naming the variable (no localhost default)", async () => {
    const cases: [ServiceName, string][] = [
      ["validator", "VALIDATOR_FEATURE_ADDR"],
      ["feature", "FEATURE_ROUTER_ADDR"],
      ["router", "ROUTER_WORKER_ADDRS"],
      ["router", "ROUTER_MONITOR_ADDR"],
      ["model-worker", "NATS_URL"],
      ["monitor", "NATS_URL"],
    ];
    const outs = await Promise.all(
      cases.map(([service, variable]) => {
        const env: Record<string, string | undefined> = { ...process.env, ...fx.mesh.env };
        delete env[variable];
        return runUntilExit(service, env);
      }),
    );
    cases.forEach(([service, variable], i) => {
      const out = outs[i]!;
      assert.equal(out.code, 2, `${service} without ${variable}:\n${out.text}`);
      const line = lastLogLine(out.text);
      assert.deepEqual([line["level"], line["variable"]], ["fatal", variable], `${service} without ${variable}`);
      assert.match(String(line["msg"]), new RegExp(`${variable}: is required but not set`));
    });
  });
});

/** Starts one service with exactly `env` and resolves with its exit code and output once it exits (killed after 15 s). */
function runUntilExit(
  service: ServiceName,
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(PROJECT_ROOT, "dist/services", service, "main.js")], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    p.stdout.on("data", (b: Buffer) => (text += b.toString()));
    p.stderr.on("data", (b: Buffer) => (text += b.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), 15_000);
    p.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
}

function lastLogLine(text: string): Record<string, unknown> {
  return JSON.parse(text.trim().split("\n").at(-1)!) as Record<string, unknown>;
}
