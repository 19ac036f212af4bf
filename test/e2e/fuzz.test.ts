import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { CREDIT_INPUTS } from "../support/credit-data.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";
import { badInfer, badJsonBody, badProtobuf, Gen, prng } from "./fuzz-inputs.js";

/**
 * Fuzzing the three public surfaces of a real mesh with generated bad input (seeded: FUZZ_SEED, default 10):
 * the HTTP JSON edge, the gRPC edge (mutated and random protobuf bytes, sent raw) and the worker's OIP v2 API.
 * No process may exit, no answer may be INTERNAL or UNKNOWN (except grpc-js's own "Error deserializing
 * request"), every refusal must carry a message, and valid calls still succeed afterwards.
 */
const SEED = Number(process.env["FUZZ_SEED"] ?? 10);
const COUNTS = { http: 4000, grpc: 4000, worker: 2000 };
const CONCURRENCY = 16;

let fx: MeshFixture;
let failures: string[] = [];
const fail = (what: string) => failures.length < 20 && failures.push(what);

before(async () => {
  fx = await startMeshFixture({ LOG_LEVEL: "warn" });
});
beforeEach(() => (failures = []));
after(async () => {
  await fx?.close();
});

/** Runs `n` generated calls, `CONCURRENCY` at a time. */
async function pool(n: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await one(next++);
    }),
  );
}

function post(agent: Agent, path: string, body: string | Buffer, contentType?: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(`${fx.httpBase}${path}`, {
      method: "POST",
      agent,
      headers: {
        ...(contentType ? { "content-type": contentType } : {}),
        "content-length": Buffer.byteLength(body),
        // With the key, the bad inputs reach validation instead of stopping at authentication.
        ...(fx.apiKey ? { authorization: `Bearer ${fx.apiKey}` } : {}),
      },
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const SCORE = "/scoremesh.scoring.v1.ScoringService/Score";
const PATHS = [SCORE, SCORE, "/scoremesh.scoring.v1.ScoringService/ScoreBatch", "/scoremesh.nope/X"];
const TYPES = [
  "application/json",
  "application/json",
  "application/json",
  "text/plain",
  "application/xml",
  "",
  "application/proto",
];

test(`HTTP JSON edge: ${COUNTS.http} bad requests are refused with a message, none INTERNAL or a reset`, async () => {
  const g = new Gen(prng(SEED));
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const statuses = new Map<number, number>();
  await pool(COUNTS.http, async (i) => {
    const oversize = i % 500 === 0;
    const body = oversize ? "x".repeat(5 << 20) : badJsonBody(g);
    const path = g.pick(PATHS);
    const type = oversize ? "application/json" : g.pick(TYPES);
    const res = await post(agent, path, body, type).catch((e: Error) => ({ status: -1, text: e.message }));
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    // connect-node's own "parse binary: ..." (INTERNAL) is the transport's cannot-parse error, allowed.
    const parseError = res.status === 500 && /"message":"parse binary: /.test(res.text);
    if (res.status === -1 || (res.status >= 500 && !parseError))
      fail(`HTTP ${res.status} ${path} ${type}: ${res.text.slice(0, 200)}`);
    else if (res.status !== 200 && res.status !== 404 && !/"message":"[^"]+/.test(res.text)) {
      fail(`HTTP ${res.status} ${path} ${type} without a message: ${JSON.stringify(res.text.slice(0, 100))}`);
    }
    if (oversize && res.status !== 413) fail(`oversize body: HTTP ${res.status}, expected 413`);
  });
  agent.destroy();
  console.log(`HTTP statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.deepEqual(failures, []);
});

test(`gRPC edge: ${COUNTS.grpc} mutated or random protobuf messages get a clean status`, async () => {
  const g = new Gen(prng(SEED + 1));
  const client = new grpc.Client(fx.mesh.env["VALIDATOR_GRPC_ADDR"]!, fx.mesh.credentials("validator"));
  const id = (b: Buffer) => b;
  const metadata = new grpc.Metadata();
  if (fx.apiKey) metadata.set("authorization", `Bearer ${fx.apiKey}`);
  const codes = new Map<string, number>();
  await pool(COUNTS.grpc, async () => {
    const bytes = Buffer.from(badProtobuf(g));
    const path = g.pick([
      "/scoremesh.scoring.v1.ScoringService/Score",
      "/scoremesh.scoring.v1.ScoringService/ScoreBatch",
    ]);
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest(path, id, id, bytes, metadata.clone(), { deadline: Date.now() + 10_000 }, (e) =>
        resolve(e),
      ),
    );
    const code = err ? grpc.status[err.code] : "OK";
    codes.set(code, (codes.get(code) ?? 0) + 1);
    if (!err) return;
    const parseError = err.code === grpc.status.INTERNAL && err.details === "Error deserializing request";
    if ((err.code === grpc.status.INTERNAL || err.code === grpc.status.UNKNOWN) && !parseError) {
      fail(`gRPC ${code}: ${err.details}`);
    }
    if (!err.details) fail(`gRPC ${code} without a message`);
  });
  client.close();
  console.log(`gRPC codes: ${JSON.stringify(Object.fromEntries(codes))}`);
  assert.deepEqual(failures, []);
});

test(`worker OIP v2: ${COUNTS.worker} bad ModelInfer and metadata calls get a clean status`, async () => {
  const g = new Gen(prng(SEED + 2));
  const transport = createGrpcTransport({
    address: fx.mesh.env["WORKER_ADDR"]!,
    credentials: fx.mesh.credentials("model-worker"),
  });
  const worker = createClient(GRPCInferenceService, transport);
  const codes = new Map<string, number>();
  await pool(COUNTS.worker, async (i) => {
    const call =
      i % 10 === 0
        ? worker.modelMetadata({ name: g.unicode(6), version: g.pick(["", "x", "-1"]) }, { timeoutMs: 10_000 })
        : worker.modelInfer(badInfer(g, Object.keys(CREDIT_INPUTS).length), { timeoutMs: 10_000 });
    const err = await call.then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    const code = err ? Code[err.code] : "OK";
    codes.set(code, (codes.get(code) ?? 0) + 1);
    if (err && (err.code === Code.Internal || err.code === Code.Unknown)) fail(`worker ${code}: ${err.rawMessage}`);
    if (err && !err.rawMessage) fail(`worker ${code} without a message`);
  });
  transport.close();
  console.log(`worker codes: ${JSON.stringify(Object.fromEntries(codes))}`);
  assert.deepEqual(failures, []);
});

test("afterwards: every process still runs (same pids), and valid calls succeed on both listeners", async () => {
  for (const [name, p] of fx.mesh.processes) {
    assert.equal(p.exitCode, null, `${name} exited with ${p.exitCode}`);
    assert.equal(p.signalCode, null, `${name} was killed by ${p.signalCode}`);
  }
  const res = await fx.scoring.score({ model: "credit-default", inputs: { ...CREDIT_INPUTS } }, { timeoutMs: 5000 });
  assert.ok(res.score >= 0 && res.score <= 1);
  const agent = new Agent();
  const http = await post(
    agent,
    SCORE,
    JSON.stringify({ model: "credit-default", inputs: CREDIT_INPUTS }),
    "application/json",
  );
  agent.destroy();
  assert.equal(http.status, 200, http.text);
});
