/**
 * What a user of `npm start` and `meshctl` sees: a mesh started as the launcher starts it (deploy/local/mesh.ts,
 * crashed services restarted), meshctl's output for people and with --json, its exit codes, and the launcher's
 * explanations when it cannot start (ports in use, a service that does not come up).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PortsInUseError, PROJECT_ROOT, randomPorts, startMesh, type Mesh } from "../../deploy/local/mesh.js";
import { writeMeshState } from "../../deploy/local/mesh-state.js";
import { NotServingError } from "../../deploy/local/readiness.js";
import { createGrpcTransport, withBearer, type ClosableTransport } from "../../services/lib/rpc/index.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import { creditRows } from "../support/credit-data.js";
import { runMeshctl, sleep, waitFor } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const REQUEST_FILE = join(PROJECT_ROOT, "deploy", "local", "example-request.json");
const rows = creditRows(20);

describe("npm start's mesh and meshctl", () => {
  let mesh: Mesh;
  let stateDir: string;
  let transport: ClosableTransport;
  const reports: string[] = [];
  // meshctl as the control identity; it finds the development tenant's key in the state folder, as after npm start.
  const meshctl = (...args: string[]) =>
    runMeshctl({ ...mesh.env, ...mesh.controlEnv }, [...args, "--state-dir", stateDir]);
  const scoring = () => createClient(ScoringService, transport);

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "scoremesh-e2e-launcher-"));
    mesh = await startMesh({
      ports: await randomPorts(),
      stateDir,
      env: { LOG_LEVEL: "info" },
      supervise: { report: (l) => reports.push(l) },
    });
    transport = withBearer(
      createGrpcTransport({ address: mesh.env["VALIDATOR_GRPC_ADDR"]!, credentials: mesh.credentials("validator") }),
      mesh.apiKey!,
    );
  });
  after(async () => {
    transport?.close();
    await mesh?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  test("meshctl score takes its request under -d/--data (file, text, stdin), prints text by default and JSON with --json", async () => {
    const request = readFileSync(REQUEST_FILE, "utf8");
    // Four independent meshctl runs at once (each is a process of its own).
    const [text, json, stdin, old] = await Promise.all([
      meshctl("score", "--data", `@${REQUEST_FILE}`),
      meshctl("score", "-d", request, "--json"),
      runMeshctl(mesh.env, ["score", "--data", "@-", "--json", "--state-dir", stateDir], request),
      meshctl("score", "--file", REQUEST_FILE, "--json"),
    ]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`^(APPROVE|REVIEW|DECLINE)  score 0\\.\\d{4}  ${MODEL} v\\d+  route primary\\n`),
    );
    assert.match(text.stdout, /\nrequest \S+ {2}trace [0-9a-f]{32}\n$/);
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { model: string }).model, MODEL);
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.equal((JSON.parse(stdin.stdout) as { model: string }).model, MODEL);
    assert.equal(old.code, 0, old.stderr);
    assert.match(old.stderr, /--file is deprecated; use --data @/);
    assert.equal((JSON.parse(old.stdout) as { model: string }).model, MODEL);
  });

  test("meshctl exits 1 on a refused call and 2 on bad usage, with a clear message", async () => {
    const usage: [string[], RegExp][] = [
      [["score", "--json", "{}"], /takes its request under -d\/--data/],
      [["score"], /score needs its ScoreRequest/],
      [["policy"], /usage: meshctl policy <model>/],
      [["frobnicate"], /unknown command "frobnicate"/],
      [["status", "--bogus"], /Unknown option '--bogus'/],
    ];
    // Independent meshctl runs at once (each is a process of its own).
    const [refused, ...runs] = await Promise.all([
      meshctl("score", "--data", JSON.stringify({ model: MODEL, inputs: { ...rows[0], AGE: 300 } })),
      ...usage.map(([args]) => meshctl(...args)),
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /inputs\.AGE: must be in \[18, 120\], got 300/);
    usage.forEach(([args, message], i) => {
      assert.equal(runs[i]!.code, 2, args.join(" "));
      assert.match(runs[i]!.stderr, message, args.join(" "));
    });
  });

  test("every meshctl command that prints takes --json", async () => {
    const [status, policy, reviews] = await Promise.all([
      meshctl("status", "--json"),
      meshctl("policy", MODEL, "--json"),
      meshctl("reviews", "--limit", "2", "--json"),
    ]);
    assert.equal(status.code, 0, status.stderr + status.stdout);
    const s = JSON.parse(status.stdout) as {
      services: { name: string; health: string }[];
      policies: { model: string }[];
    };
    assert.deepEqual(
      s.services.map((x) => x.health),
      ["SERVING", "SERVING", "SERVING", "SERVING", "SERVING"],
    );
    assert.deepEqual(
      s.policies.map((p) => p.model).sort(),
      new ModelRepository(join(PROJECT_ROOT, "models")).models().sort(),
      "a policy for every model in the repository",
    );
    const champion = (JSON.parse(policy.stdout) as { championVersion: string }).championVersion;
    const set = await meshctl("set-champion", MODEL, champion, "--json");
    assert.equal(set.code, 0, set.stderr);
    assert.equal((JSON.parse(set.stdout) as { championVersion: string }).championVersion, champion);
    assert.equal(reviews.code, 0, reviews.stderr);
    assert.deepEqual(
      Object.keys(JSON.parse(reviews.stdout) as object).sort(),
      ["cases", "queued", "reviewCases", "total"],
      "every field, defaults included",
    );
    const human = await meshctl("policy", MODEL);
    assert.match(
      human.stdout,
      new RegExp(`^${MODEL}: champion ${champion}, set \\S+ by ${mesh.keys.operatorName}\n$`),
      "by the verified signer: the local operator's key",
    );
  });

  test("meshctl finds the mesh from the launcher's state folder; without one it names the variable it needs (exit 2)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "scoremesh-e2e-state-"));
    try {
      const none = await runMeshctl({}, ["status", "--state-dir", dir]);
      assert.equal(none.code, 2);
      assert.match(
        none.stderr,
        /VALIDATOR_GRPC_ADDR: is required but not set \(no mesh started by npm start runs from /,
      );
      const env = { ...mesh.env, ...mesh.controlEnv }; // what npm start writes
      writeMeshState(dir, { pid: process.pid, startedAt: new Date().toISOString(), env });
      const found = await runMeshctl({}, ["status", "--json", "--state-dir", dir]);
      assert.equal(found.code, 0, found.stderr);
      assert.equal((JSON.parse(found.stdout) as { services: unknown[] }).services.length, 5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a second mesh on the same ports is refused before anything starts, naming each port and who holds it", async () => {
    const second = mkdtempSync(join(tmpdir(), "scoremesh-e2e-second-"));
    try {
      await assert.rejects(startMesh({ ports: mesh.ports, stateDir: second }), (err: unknown) => {
        assert.ok(err instanceof PortsInUseError, String(err));
        assert.equal(err.inUse.length, 8, err.message);
        assert.match(
          err.message,
          new RegExp(`port ${mesh.ports.nats} \\(nats\\) is in use by pid \\d+ \\(\\S*nats-server`),
        );
        assert.match(
          err.message,
          new RegExp(
            `port ${mesh.ports.feature} \\(feature\\) is in use by pid ${mesh.processes.get("feature")!.pid} `,
          ),
        );
        return true;
      });
    } finally {
      rmSync(second, { recursive: true, force: true });
    }
  });

  test("a feature service killed with SIGKILL is restarted, the restart is reported and logged, and calls succeed again", async () => {
    const killed = mesh.processes.get("feature")!;
    killed.kill("SIGKILL");
    await waitFor(
      "the launcher to report the feature service back",
      () => reports.find((l) => l.startsWith("feature restarted: SERVING after")),
      30_000,
    );
    assert.match(reports[0]!, /^feature exited \(SIGKILL\) after [\d.]+ s; restarting it in 0\.5 s$/);
    assert.notEqual(mesh.processes.get("feature")!.pid, killed.pid, "a new process");
    assert.match(readFileSync(join(mesh.logDir, "feature.log"), "utf8"), /\[launcher\] \S+ feature exited \(SIGKILL\)/);
    // The validator's channel to the feature service reconnects with its own backoff: wait for the first answer.
    const first = await waitForAnswer(
      () => scoring().score({ model: MODEL, inputs: rows[0]! }, { timeoutMs: 2000 }),
      15_000,
    );
    assert.equal(first.model, MODEL);
    for (const inputs of rows)
      assert.equal((await scoring().score({ model: MODEL, inputs }, { timeoutMs: 5000 })).model, MODEL);
  });
});

test("a service that cannot start is reported with its exit code, its own error and its log, and every other not serving", async () => {
  const stateDir = mkdtempSync(join(tmpdir(), "scoremesh-e2e-broken-"));
  try {
    await assert.rejects(
      startMesh({ ports: await randomPorts(), stateDir, env: { ROUTER_MONITOR_ADDR: " " }, readyTimeoutMs: 30_000 }),
      (err: unknown) => {
        assert.ok(err instanceof NotServingError, String(err));
        assert.equal(err.instance, "router");
        assert.match(
          err.message,
          /^router exited before it was serving\.\n {2}process: exited with code 2 \(configuration error\)\n/,
        );
        assert.match(err.message, /\n {2}error: +configuration error: ROUTER_MONITOR_ADDR: is required but not set\n/);
        assert.match(
          err.message,
          /\n {2}last lines of \S+router\.log \(this start\):\n {4}\S+ fatal configuration error: ROUTER_MONITOR_ADDR/,
        );
        assert.match(err.message, /\nnot serving either:\n( {2}.+\n)* {2}feature: running \(pid \d+\), /);
        return true;
      },
    );
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

/** Calls `fn` until it answers (every 200 ms); fails with the last error after `timeoutMs`. */
async function waitForAnswer<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await sleep(200);
    }
  }
}
