/**
 * Mutual TLS between the services: every internal service refuses a peer without a certificate signed by the
 * mesh's CA; the plaintext health-only port answers grpc.health.v1 and nothing else; a service without its
 * certificate files stops at start naming the variable, and plaintext needs TLS_MODE=off; the validator's public
 * listeners serve TLS when VALIDATOR_PUBLIC_TLS=on.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Code, createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { MonitorService } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { spawnService, type InstanceName, type ServiceName } from "../../deploy/local/mesh.js";
import { stopProcess } from "../../deploy/local/nats-server.js";
import { freePort } from "../../deploy/local/ports.js";
import { createGrpcTransport, HealthProbe, type ServingStatus } from "../../services/lib/rpc/index.js";
import { creditRows } from "../support/credit-data.js";
import { rejectionOf } from "../support/in-process.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";
import { testTls, type TestTls } from "../support/tls.js";

const INTERNAL: InstanceName[] = ["feature", "router", "model-worker", "monitor"];
const ADDRESS_OF: Record<string, string> = {
  feature: "FEATURE_ADDR",
  router: "ROUTER_ADDR",
  "model-worker": "WORKER_ADDR",
  monitor: "MONITOR_ADDR",
};

let dir: string;
let fx: MeshFixture;
/** Certificates from a second, unrelated CA. */
let stranger: TestTls;

before(
  async () => {
    dir = mkdtempSync(join(tmpdir(), "scoremesh-e2e-mtls-"));
    stranger = testTls(join(dir, "stranger"), []);
    fx = await startMeshFixture({ ROUTER_WORKER_HEALTH_INTERVAL_MS: "200" });
  },
  { timeout: 90_000 },
);

after(async () => {
  await fx?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function health(address: string, credentials: grpc.ChannelCredentials): Promise<ServingStatus> {
  const probe = new HealthProbe(address, credentials);
  try {
    return await probe.check("", 2000);
  } finally {
    probe.close();
  }
}

/** The mesh's CA, and its client certificate and key (what the launcher puts in .scoremesh/tls/). */
function meshFiles() {
  const e = fx.mesh.env;
  return {
    ca: readFileSync(e["TLS_CA_FILE"]!),
    cert: readFileSync(e["TLS_CERT_FILE"]!),
    key: readFileSync(e["TLS_KEY_FILE"]!),
  };
}

describe("mutual TLS on every internal hop", () => {
  test("the mesh serves with mTLS: scores through every hop, meshctl status sees every service", async () => {
    const res = await fx.scoring.score({ model: "credit-default", inputs: creditRows(1)[0]! });
    assert.equal(res.model, "credit-default");
    const status = await fx.meshctl("status", "--json");
    assert.equal(status.code, 0, status.stderr);
    const services = (JSON.parse(status.stdout) as { services: { name: string; health: string }[] }).services;
    assert.deepEqual(
      services.map((s) => [s.name, s.health]),
      ["validator", "feature", "router", "model-worker", "monitor"].map((n) => [n, "SERVING"]),
    );
  });

  test("feature, router, worker and monitor refuse a client without a certificate, or with another CA's", async () => {
    const { ca, cert, key } = meshFiles();
    const otherCa = {
      cert: readFileSync(stranger.env["TLS_CERT_FILE"]!),
      key: readFileSync(stranger.env["TLS_KEY_FILE"]!),
    };
    const clients: [string, grpc.ChannelCredentials][] = [
      ["plaintext", grpc.credentials.createInsecure()],
      ["TLS without a client certificate", grpc.credentials.createSsl(ca)],
      ["a client certificate from another CA", grpc.credentials.createSsl(ca, otherCa.key, otherCa.cert)],
    ];
    for (const instance of INTERNAL) {
      const address = fx.mesh.env[ADDRESS_OF[instance]!]!;
      for (const [who, credentials] of clients) {
        assert.equal(await health(address, credentials), "UNREACHABLE", `${instance} answered ${who}`);
      }
      // The same address answers the mesh's client certificate: the refusals above are about the certificate.
      const good = grpc.credentials.createSsl(ca, key, cert);
      assert.equal(await health(address, good), "SERVING", `${instance} with the client certificate`);
    }
  });

  test("a call to the worker's OIP v2 API without a certificate fails UNAVAILABLE, and with one succeeds", async () => {
    const address = fx.mesh.env["WORKER_ADDR"]!;
    const bare = createGrpcTransport({ address, credentials: grpc.credentials.createSsl(meshFiles().ca) });
    const good = createGrpcTransport({ address, credentials: fx.mesh.credentials("model-worker") });
    try {
      // rejectionOf fails the test if the worker answers a client without a certificate.
      const err = await rejectionOf(createClient(GRPCInferenceService, bare).serverLive({}, { timeoutMs: 3000 }));
      assert.equal(err.code, Code.Unavailable, err.message);
      assert.equal((await createClient(GRPCInferenceService, good).serverLive({})).live, true);
    } finally {
      bare.close();
      good.close();
    }
  });
});

/** Starts one service with `env` on top of this process's; its output kept for the assertions and failures. */
interface Started {
  child: ChildProcess;
  output: () => string;
}

function start(service: ServiceName, env: Record<string, string>): Started {
  let out = "";
  const child = spawnService(service, { LOG_LEVEL: "info", ...env }, ["ignore", "pipe", "pipe"]);
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  return { child, output: () => out };
}

/** Polls the health of `address` until it answers (anything but UNREACHABLE); fails after 15 s. */
async function answering(address: string, credentials: grpc.ChannelCredentials, p: Started) {
  for (let i = 0; i < 150; i++) {
    assert.equal(p.child.exitCode, null, `the service exited:\n${p.output()}`);
    const s = await health(address, credentials);
    if (s !== "UNREACHABLE") return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${address} did not answer within 15 s`);
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
}

/** The mesh's environment for `service` without any TLS variable (blank: unset), so that a test sets its own. */
function withoutTls(service: ServiceName): Record<string, string> {
  return { ...fx.mesh.envOf(service), TLS_MODE: "", TLS_CA_FILE: "", TLS_CERT_FILE: "", TLS_KEY_FILE: "" };
}

/** A second monitor on free ports, with the mesh's NATS identity (it serves while NATS is away or refuses it). */
async function monitorEnv(): Promise<Record<string, string>> {
  const a = async () => `127.0.0.1:${await freePort()}`;
  return {
    ...withoutTls("monitor"),
    MONITOR_ADDR: await a(),
    MONITOR_HTTP_ADDR: await a(),
    MONITOR_HEALTH_ADDR: await a(),
    MONITOR_AUDIT_LOG: "",
  };
}

describe("a service's TLS settings", () => {
  let tls: TestTls;
  before(() => {
    tls = testTls(dir, ["monitor", "validator"]);
  });

  test("the plaintext health port answers grpc.health.v1 and serves nothing else", { timeout: 30_000 }, async () => {
    const env = await monitorEnv();
    const m = start("monitor", { ...env, ...tls.env, ...tls.serviceEnv("monitor") });
    try {
      const plaintext = grpc.credentials.createInsecure();
      assert.equal(await answering(env["MONITOR_ADDR"]!, tls.credentials, m), "SERVING", m.output());
      assert.equal(await health(env["MONITOR_HEALTH_ADDR"]!, plaintext), "SERVING", "health port, plaintext");
      assert.equal(await health(env["MONITOR_ADDR"]!, plaintext), "UNREACHABLE", "main port, plaintext");
      const t = createGrpcTransport({ address: env["MONITOR_HEALTH_ADDR"]!, credentials: plaintext });
      try {
        const err = await rejectionOf(createClient(MonitorService, t).getStats({}, { timeoutMs: 3000 }));
        assert.equal(err.code, Code.Unimplemented, `GetStats on the health port: ${err.message}`);
      } finally {
        t.close();
      }
      // Both listeners close on SIGTERM and the service exits cleanly.
      m.child.kill("SIGTERM");
      assert.equal(await exitOf(m.child), 0, m.output());
    } finally {
      await stopProcess(m.child, 5000);
    }
  });

  test("without TLS_MODE or certificate files a service exits 2 naming the variable", { timeout: 30_000 }, async () => {
    const env = await monitorEnv();
    const cases: [Record<string, string>, string, RegExp][] = [
      [{}, "TLS_CA_FILE", /TLS_CA_FILE: is required with TLS_MODE=mtls/],
      [{ ...tls.env, TLS_CERT_FILE: join(dir, "nowhere.pem") }, "TLS_CERT_FILE", /cannot read .*ENOENT/],
      [
        { ...tls.env, ...tls.serviceEnv("monitor"), TLS_KEY_FILE: tls.env["TLS_KEY_FILE"]! },
        "TLS_KEY_FILE",
        /does not belong to the certificate/,
      ],
      [
        { ...tls.env, ...tls.serviceEnv("monitor"), TLS_CA_FILE: stranger.env["TLS_CA_FILE"]! },
        "TLS_CERT_FILE",
        /was not signed by the CA/,
      ],
      [{ TLS_MODE: "plaintext" }, "TLS_MODE", /must be one of mtls, off/],
    ];
    const runs = cases.map(([tlsEnv]) => {
      const p = start("monitor", { ...env, ...tlsEnv });
      return exitOf(p.child).then((code) => ({ code, text: p.output() }));
    });
    const outs = await Promise.all(runs);
    cases.forEach(([, variable, message], i) => {
      const { code, text } = outs[i]!;
      assert.equal(code, 2, `${variable}:\n${text}`);
      const fatal = text
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l["level"] === "fatal");
      assert.equal(fatal?.["variable"], variable, text);
      assert.match(String(fatal["msg"]), message);
    });
  });

  test("TLS_MODE=off serves plaintext, and only when set", { timeout: 30_000 }, async () => {
    const env = await monitorEnv();
    const m = start("monitor", { ...env, TLS_MODE: "off" });
    try {
      assert.equal(await answering(env["MONITOR_ADDR"]!, grpc.credentials.createInsecure(), m), "SERVING");
      assert.equal(
        await health(env["MONITOR_ADDR"]!, tls.credentials),
        "UNREACHABLE",
        "a TLS client of a plaintext port",
      );
      assert.match(m.output(), /"msg":"listening"/);
    } finally {
      await stopProcess(m.child, 5000);
    }
  });

  test(
    "VALIDATOR_PUBLIC_TLS=on: the public gRPC and HTTP listeners serve TLS, no client certificate needed",
    { timeout: 30_000 },
    async () => {
      const a = async () => `127.0.0.1:${await freePort()}`;
      const env = {
        ...withoutTls("validator"),
        VALIDATOR_GRPC_ADDR: await a(),
        VALIDATOR_HTTP_ADDR: await a(),
        VALIDATOR_FEATURE_ADDR: await a(), // nothing there: the validator listens, NOT_SERVING
        VALIDATOR_PUBLIC_TLS: "on",
        // A second validator beside the mesh's: its own audit spool (a spool has one writer).
        VALIDATOR_AUDIT_SPOOL_DIR: join(dir, "spool-public-tls"),
      };
      const v = start("validator", { ...env, ...tls.env, ...tls.serviceEnv("validator") });
      try {
        const ca = readFileSync(tls.env["TLS_CA_FILE"]!);
        const caOnly = grpc.credentials.createSsl(ca);
        assert.equal(await answering(env.VALIDATOR_GRPC_ADDR, caOnly, v), "NOT_SERVING", v.output());
        assert.equal(await health(env.VALIDATOR_GRPC_ADDR, grpc.credentials.createInsecure()), "UNREACHABLE");
        const status = await httpsStatus(
          `https://${env.VALIDATOR_HTTP_ADDR}/scoremesh.scoring.v1.ScoringService/Score`,
          ca,
        );
        assert.ok(status >= 200 && status < 600, `HTTPS answered ${status}`);
        await assert.rejects(fetch(`http://${env.VALIDATOR_HTTP_ADDR}/`), "plain HTTP on the HTTPS listener");
      } finally {
        await stopProcess(v.child, 5000);
      }
    },
  );
});

/** POSTs `{}` as Connect JSON to `url` over HTTPS, trusting `ca`; resolves with the status code. */
function httpsStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", ca, headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once("error", reject);
    req.end("{}");
  });
}
