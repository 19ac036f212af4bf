import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, cpSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { PROJECT_ROOT, spawnService } from "../../deploy/local/mesh.js";
import { freePort } from "../../deploy/local/ports.js";
import { buildVector, ModelRepository, specHash } from "../../services/lib/model/index.js";
import { RolloutStore, type PolicyChange, type RolloutStatus } from "../../services/lib/nats/index.js";
import { createGrpcTransport, type ClosableTransport } from "../../services/lib/rpc/index.js";
import { creditRows } from "../support/credit-data.js";
import { writeInvertedVersion } from "../support/inverted-model.js";
import { controlPolicies } from "../support/policy-writer.js";
import { load, loadSummary, meshctlEnv, sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const INVERTED = "9";
const rows = creditRows(1000);

describe("automated rollouts: the monitor's controller promotes a good challenger and rolls back an inverted one", () => {
  let fx: MeshFixture;
  let repoDir: string;
  let router: Client<typeof RouterService>;
  let transport: ClosableTransport;
  let second: ChildProcess | undefined;
  let featureSpecHash = "";
  let spec: ReturnType<ModelRepository["spec"]>;
  let entity = 0;

  /** Decisions for fresh entities straight through the router (records reach the monitor as for any call). */
  const traffic = async (rowsPerCall: number) => {
    const res = await router.route(
      {
        model: MODEL,
        featureSpecHash,
        rows: Array.from({ length: rowsPerCall }, () => {
          const i = entity++;
          const features = Array.from(buildVector(spec, rows[i % rows.length]!).vector);
          return { requestId: `ro-${i}`, entityId: `RO-${i}`, features };
        }),
      },
      { timeoutMs: 10_000 },
    );
    return res.decisions;
  };

  /** Runs `meshctl rollout … --json` while feeding traffic; resolves with its exit code and JSON events. */
  const rolloutUnderTraffic = async (args: string[]) => {
    const p = spawn(
      process.execPath,
      [join(PROJECT_ROOT, "dist/tools/meshctl/main.js"), "rollout", ...args, "--json"],
      {
        env: { ...process.env, ...meshctlEnv(fx.mesh) },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    let code: number | null | undefined;
    p.once("exit", (c) => (code = c));
    // Calls through the public API next to the direct traffic: none may fail (a loose deadline: 2 shared cores).
    const edge = load(fx, { callers: 2, timeoutMs: 10_000 });
    const deadline = Date.now() + 120_000;
    while (code === undefined && Date.now() < deadline) {
      await traffic(200);
      await sleep(50);
    }
    const s = await edge.stop();
    if (code === undefined) p.kill("SIGKILL");
    const events = stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; reason?: string; controller?: string });
    return { code, events, stderr, edge: s };
  };

  const withRollouts = async <T>(fn: (r: RolloutStore) => Promise<T>): Promise<T> => {
    const { nc } = await controlPolicies(fx.mesh);
    try {
      return await fn(await RolloutStore.open(nc));
    } finally {
      await nc.close();
    }
  };
  const history = (): Promise<PolicyChange[]> => withRollouts((r) => r.history(MODEL));
  const secondHolder = () => `monitor-${hostname()}-${second?.pid}`;

  before(async () => {
    repoDir = mkdtempSync(join(tmpdir(), "scoremesh-rollout-ctl-models-"));
    cpSync(join(PROJECT_ROOT, "models"), repoDir, { recursive: true });
    writeInvertedVersion(repoDir, MODEL, "3", INVERTED);
    fx = await startMeshFixture({ MODEL_REPOSITORY: repoDir, MONITOR_ROLLOUT_TICK_MS: "200" });
    spec = new ModelRepository(repoDir).spec(MODEL);
    featureSpecHash = specHash(spec);
    transport = createGrpcTransport({
      address: fx.mesh.addressOf("router"),
      credentials: fx.mesh.credentials("router"),
    });
    router = createClient(RouterService, transport);
    // A second monitor replica with its own controller: it must not act while the first holds the lease.
    const env = fx.mesh.envOf("monitor");
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    // Its output goes next to the first one's (logs/monitor-2.log), to read after a run.
    const log = openSync(join(fx.mesh.logDir, "monitor-2.log"), "a");
    second = spawnService(
      "monitor",
      {
        ...env,
        MONITOR_ADDR: `127.0.0.1:${grpcPort}`,
        MONITOR_HTTP_ADDR: `127.0.0.1:${httpPort}`,
        MONITOR_AUDIT_LOG: "",
      },
      ["ignore", log, log],
    );
    closeSync(log);
    await sleep(1500);
  });
  after(async () => {
    second?.kill("SIGTERM");
    transport?.close();
    await fx?.close();
    rmSync(repoDir, { recursive: true, force: true });
  });

  test("an inverted challenger is rolled back at the first step, 0 failed calls, the history names the check", async () => {
    const r = await rolloutUnderTraffic([MODEL, INVERTED, "--steps", "20,50,100", "--hold-decisions", "300"]);
    console.log(`# inverted: exit ${r.code}; edge ${loadSummary(r.edge)}; ${r.events.at(-1)?.reason}`);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.edge.failed, []);
    const end = r.events.at(-1)!;
    assert.equal(end.event, "rolled_back");
    assert.match(end.reason ?? "", /breach at step 1: .*(approve_rate|decline_rate|score_psi)/);
    const last = (await history()).at(-1)!;
    assert.equal(last.by, "rollout-controller");
    assert.match(last.why, /approve_rate|decline_rate|score_psi/);
    assert.ok(last.checks?.some((c) => c.state === "breach"));
    const policy = await fx.meshctl("policy", MODEL, "--json");
    const p = JSON.parse(policy.stdout) as { championVersion: string; canary?: unknown };
    assert.deepEqual([p.championVersion, p.canary ?? null], ["3", null]);
    const shown = await fx.meshctl("policy", MODEL, "--history");
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /rollout-controller {2}canary 9 rolled back: breach at step 1/);
  });

  test("a good challenger (version 4) is promoted through every step, by one controller", async () => {
    const before = (await history()).length;
    const r = await rolloutUnderTraffic([MODEL, "4", "--steps", "5,25,50,100", "--hold-decisions", "200"]);
    console.log(`# version 4: exit ${r.code}; edge ${loadSummary(r.edge)}; ${r.events.at(-1)?.reason}`);
    assert.equal(r.code, 0, `${r.stderr} ${JSON.stringify(r.events.at(-1))}`);
    assert.deepEqual(r.edge.failed, []);
    assert.equal(r.events.at(-1)!.event, "promoted");
    assert.deepEqual(
      r.events.filter((e) => e.event === "step").map((e) => (e as { percent?: number }).percent),
      [25, 50, 100],
    );
    const controllers = new Set(r.events.filter((e) => e.event === "progress").map((e) => e.controller));
    assert.equal(controllers.size, 1, `one controller acted: ${[...controllers].join(", ")}`);
    const mine = (await history()).slice(before).filter((c) => c.by === "rollout-controller");
    assert.deepEqual(
      mine.map((c) => c.what),
      ["canary 4 at 25 %", "canary 4 at 50 %", "canary 4 at 100 %", "champion 4 (promoted)"],
      "each step applied exactly once",
    );
    const step1 = mine[0]!.checks!.filter((c) => !c.segment).map((c) => `${c.name} ${c.value.toFixed(4)}`);
    console.log(`# version 4 against 3 at step 1 (5 %): ${step1.join(", ")}`);
    const policy = JSON.parse((await fx.meshctl("policy", MODEL, "--json")).stdout) as { championVersion: string };
    assert.equal(policy.championVersion, "4");
  });

  test(
    "a NATS restart mid-rollout, the lease taken over by the replica without records: it resumes from the policy " +
      "and the other replica's records, every step applied once, never half",
    async () => {
      const before = (await history()).length;
      // Version 3 back as the challenger of champion 4.
      const p = spawn(
        process.execPath,
        [
          join(PROJECT_ROOT, "dist/tools/meshctl/main.js"),
          "rollout",
          MODEL,
          "3",
          "--steps",
          "50,100",
          "--hold-decisions",
          "300",
          "--json",
        ],
        { env: { ...process.env, ...meshctlEnv(fx.mesh) }, stdio: ["ignore", "pipe", "ignore"] },
      );
      let out = "";
      p.stdout.on("data", (b: Buffer) => (out += b.toString()));
      for (const deadline = Date.now() + 20_000; !out.includes('"event":"started"') && Date.now() < deadline;)
        await sleep(100);
      assert.match(out, /"event":"started"/, "the rollout started");
      // What a replica received but had not shared when NATS died is its own; the scenario starts once some is shared.
      // Records count from when the monitor's tick opens the step's window, which may be after the router applies
      // the canary, so traffic goes on in small calls until some is shared: at most 400 rows, about 200 canary
      // decisions of the 300 the hold needs.
      const sharedCanary = async () =>
        (await withRollouts((r) => r.windows(MODEL))).reduce((n, w) => n + w.canary.all.decisions, 0);
      let sent = 0;
      for (const deadline = Date.now() + 15_000; (await sharedCanary()) === 0 && Date.now() < deadline;) {
        if (sent < 400) sent += (await traffic(50)).length;
        await sleep(250);
      }
      assert.ok((await sharedCanary()) > 0, `the first monitor shared its window of the step (${sent} rows sent)`);
      console.log(`# the first monitor shared ${await sharedCanary()} canary decisions after ${sent} rows`);
      await fx.mesh.stopNats("SIGKILL");
      p.kill("SIGKILL"); // the rollout runs in the monitor, not in meshctl
      // The first monitor (the one the routers send records to) stalls past its lease, so that the second one, which
      // receives no records, holds the lease after the restart: it must see the first one's records of the step.
      const first = fx.mesh.processes.get("monitor")!;
      first.kill("SIGSTOP");
      try {
        await sleep(1000);
        await fx.mesh.startNats();
        let seen: RolloutStatus | undefined;
        for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
          seen = await withRollouts((r) => r.status(MODEL)).catch(() => undefined);
          if (seen?.controller === secondHolder() && seen.canaryDecisions > 0) break;
        }
        assert.equal(seen?.controller, secondHolder(), "the second monitor took the lease over");
        assert.ok(seen.canaryDecisions > 0, "it decides on the first one's records of the step");
      } finally {
        first.kill("SIGCONT");
      }
      let end: { state?: string; championVersion?: string; canary?: unknown } = {};
      for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
        await traffic(200).catch(() => undefined);
        const r = await fx.meshctl("policy", MODEL, "--json");
        if (r.code !== 0) continue;
        const now = JSON.parse(r.stdout) as {
          championVersion: string;
          canary?: { percent: number };
          rollout?: { version: string; state: string; stepIndex: number; steps: number[] };
        };
        if (now.rollout?.state === "ROLLOUT_STATE_RUNNING")
          assert.equal(
            now.canary?.percent,
            now.rollout.steps[now.rollout.stepIndex],
            "the canary is always at the rollout's step",
          );
        else {
          assert.equal(now.rollout?.version, "3", "the rollout of version 3 ended");
          end = { state: now.rollout.state, championVersion: now.championVersion, canary: now.canary };
          break;
        }
      }
      console.log(`# after a NATS restart: ${JSON.stringify(end)}`);
      assert.ok(["ROLLOUT_STATE_PROMOTED", "ROLLOUT_STATE_ROLLED_BACK"].includes(end.state ?? ""), JSON.stringify(end));
      assert.equal(end.canary ?? null, null);
      assert.equal(end.championVersion, end.state === "ROLLOUT_STATE_PROMOTED" ? "3" : "4");
      const mine = (await history()).slice(before).filter((c) => c.by === "rollout-controller");
      const whats = mine.map((c) => c.what);
      assert.equal(new Set(whats).size, whats.length, `no step applied twice: ${whats.join("; ")}`);
    },
  );
});
