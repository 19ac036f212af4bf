import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import { createClient, type Client } from "@connectrpc/connect";
import { RouterService } from "../../gen/scoremesh/router/v1/router_pb.js";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { buildVector, ModelRepository, specHash } from "../../services/lib/model/index.js";
import { POLICY_BUCKET, PolicyConflictError, type PolicyStore } from "../../services/lib/nats/index.js";
import { createGrpcTransport, type ClosableTransport } from "../../services/lib/rpc/index.js";
import { creditRows } from "../support/credit-data.js";
import { controlPolicies } from "../support/policy-writer.js";
import { load, loadSummary, sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const CHAMPION = "3"; // the seed champion
const CANARY = "4";
const ENTITIES = Array.from({ length: 2000 }, (_, i) => `E-${i}`);
const rows = creditRows(64);

describe("safe rollouts: canary, rollback, and bad policies that never block decisions", () => {
  let fx: MeshFixture;
  let repoDir: string;
  let nc: NatsConnection;
  let store: PolicyStore;
  const transports: ClosableTransport[] = [];
  const routers: Client<typeof RouterService>[] = [];
  let featureSpecHash = "";
  let spec: ReturnType<ModelRepository["spec"]>;

  /** One Route call straight to a router replica with a row per entity; the versions (and routes) per entity. */
  const viaRouter = async (k: number, entities: string[]) => {
    const res = await routers[k]!.route(
      {
        model: MODEL,
        featureSpecHash,
        rows: entities.map((entityId, i) => ({
          requestId: `r-${k}-${entityId}`,
          entityId,
          features: Array.from(buildVector(spec, rows[i % rows.length]!).vector),
        })),
      },
      { timeoutMs: 5000 },
    );
    return res.decisions;
  };

  before(async () => {
    repoDir = mkdtempSync(join(tmpdir(), "scoremesh-rollouts-models-"));
    cpSync(join(PROJECT_ROOT, "models"), repoDir, { recursive: true });
    fx = await startMeshFixture({ MODEL_REPOSITORY: repoDir }, { routers: 2 });
    spec = new ModelRepository(repoDir).spec(MODEL);
    featureSpecHash = specHash(spec);
    for (const r of ["router", "router-2"] as const) {
      const t = createGrpcTransport({ address: fx.mesh.addressOf(r), credentials: fx.mesh.credentials(r) });
      transports.push(t);
      routers.push(createClient(RouterService, t));
    }
    ({ store, nc } = await controlPolicies(fx.mesh));
  });
  after(async () => {
    await nc?.close();
    transports.forEach((t) => t.close());
    await fx?.close();
    rmSync(repoDir, { recursive: true, force: true });
  });

  test("canary at 20 %: share within ±3 points over 2,000 entities, the same version per entity on two routers", async () => {
    const r = await fx.meshctl("canary", MODEL, CANARY, "--percent", "20", "--json");
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as { championVersion: string; canary: { version: string; percent: number } };
    assert.deepEqual([p.championVersion, p.canary], [CHAMPION, { version: CANARY, percent: 20 }]);
    for (const k of [0, 1])
      await waitForAsync(`router ${k + 1} to serve the canary`, async () =>
        (await viaRouter(k, ENTITIES.slice(0, 50))).some((d) => d.modelVersion === CANARY),
      );
    const shown = await fx.meshctl("policy", MODEL);
    assert.match(shown.stdout, new RegExp(`champion ${CHAMPION}, canary ${CANARY} at 20 %`));

    const viaEdge = new Map<string, { version: string; route: Route }>();
    await inParallel(ENTITIES, 8, async (entityId, i) => {
      const res = await fx.scoring.score({ model: MODEL, entityId, inputs: rows[i % rows.length]! });
      viaEdge.set(entityId, { version: res.modelVersion, route: res.route });
    });
    const canaryEntities = ENTITIES.filter((e) => viaEdge.get(e)!.version === CANARY);
    const share = (100 * canaryEntities.length) / ENTITIES.length;
    console.log(`# canary at 20 %: ${canaryEntities.length} of ${ENTITIES.length} entities (${share.toFixed(2)} %)`);
    assert.ok(Math.abs(share - 20) <= 3, `share ${share} % not within 20 ± 3`);
    for (const [e, a] of viaEdge) {
      assert.ok([CHAMPION, CANARY].includes(a.version), `${e}: version ${a.version}`);
      assert.equal(a.route, a.version === CANARY ? Route.CANARY : Route.PRIMARY, `${e}: the response names its arm`);
    }
    let differ = 0;
    for (let i = 0; i < ENTITIES.length; i += 200) {
      const batch = ENTITIES.slice(i, i + 200);
      const decisions = await viaRouter(1, batch);
      decisions.forEach((d, j) => (differ += d.modelVersion === viaEdge.get(batch[j]!)!.version ? 0 : 1));
    }
    assert.equal(differ, 0, "router-2 gives every entity the version the first router gave it");
  });

  test("policy writes are compare-and-set: a concurrent writer gets a conflict", async () => {
    const at = await store.read(MODEL);
    const fields = { model: MODEL, championVersion: at.policy!.championVersion, canary: at.policy!.canary };
    await store.putAt(fields, at.revision);
    await assert.rejects(store.putAt(fields, at.revision), PolicyConflictError);
  });

  test("rollback under load: no call fails and canary answers stop", async () => {
    const set = await fx.meshctl("canary", MODEL, CANARY, "--percent", "50");
    assert.equal(set.code, 0, set.stderr);
    let n = 0;
    const l = load(fx, {
      callers: 8,
      call: (inputs, timeoutMs) =>
        fx.scoring.score({ model: MODEL, inputs, entityId: ENTITIES[n++ % ENTITIES.length]! }, { timeoutMs }),
    });
    await sleep(1500);
    const started = performance.now();
    const r = await fx.meshctl("rollback", MODEL, "--json");
    const written = performance.now();
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { canary?: unknown }).canary, undefined);
    await sleep(2000);
    const s = await l.stop();
    console.log(`# rollback under load: ${loadSummary(s)}`);
    assert.deepEqual(s.failed, [], "no call fails");
    const canary = s.calls.filter((c) => c.modelVersion === CANARY);
    assert.ok(
      canary.some((c) => c.at < started),
      "the canary served before the rollback",
    );
    // When the KV write happened: the entry's server time, on this machine's clock, as performance.now().
    const entry = await (await nc.jetstream().views.kv(POLICY_BUCKET)).get(MODEL);
    const writeAt = entry!.created.getTime() - performance.timeOrigin;
    assert.ok(writeAt >= started - 50 && writeAt <= written + 50, "the entry is the rollback's write");
    const lastAnswer = Math.max(...canary.map((c) => c.at + c.ms));
    const lastStart = Math.max(...canary.map((c) => c.at));
    console.log(
      `# rollback: last canary answer ${(lastAnswer - writeAt).toFixed(0)} ms after the KV write (last call answered by the canary started ${(lastStart - writeAt).toFixed(0)} ms after it); meshctl ran ${(written - started).toFixed(0)} ms`,
    );
    const late = canary.filter((c) => c.at > writeAt + 1000);
    assert.deepEqual(late, [], "no canary answer to a call started over 1 s after the rollback was written");
    const after2 = await Promise.all([viaRouter(0, ENTITIES.slice(0, 200)), viaRouter(1, ENTITIES.slice(0, 200))]);
    assert.ok(
      after2.flat().every((d) => d.modelVersion === CHAMPION),
      "both routers: champion only",
    );
  });

  test("promote: the canary becomes the champion on both routers; rollback without a canary is refused", async () => {
    const set = await fx.meshctl("canary", MODEL, CANARY, "--percent", "10", "--json");
    assert.equal(set.code, 0, set.stderr);
    const r = await fx.meshctl("promote", MODEL, "--json");
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as { championVersion: string; canary?: unknown };
    assert.deepEqual([p.championVersion, p.canary], [CANARY, undefined]);
    for (const k of [0, 1])
      await waitForAsync(`router ${k + 1} to serve only version ${CANARY}`, async () =>
        (await viaRouter(k, ENTITIES.slice(0, 200))).every(
          (d) => d.modelVersion === CANARY && d.route === Route.PRIMARY,
        ),
      );
    const none = await fx.meshctl("rollback", MODEL);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /credit-default has no canary/);
    const back = await fx.meshctl("set-champion", MODEL, CHAMPION);
    assert.equal(back.code, 0, back.stderr);
    for (const k of [0, 1])
      await waitForAsync(`router ${k + 1} to serve version ${CHAMPION} again`, async () =>
        (await viaRouter(k, ENTITIES.slice(0, 50))).every((d) => d.modelVersion === CHAMPION),
      );
  });

  test("meshctl refuses a champion or canary that no worker has ready, with the reason", async () => {
    cpSync(join(repoDir, MODEL, CANARY), join(repoDir, MODEL, "9"), { recursive: true });
    const refusals = [
      ["set-champion", MODEL, "9"],
      ["set-champion", MODEL, "9", "--json"],
      ["canary", MODEL, "9", "--percent", "10"],
    ];
    // The four refusals at once (each a meshctl process).
    const [missing, ...runs] = await Promise.all([
      fx.meshctl("set-champion", MODEL, "99"),
      ...refusals.map((args) => fx.meshctl(...args)),
    ]);
    refusals.forEach((args, i) => {
      const r = runs[i]!;
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stdout}`);
      assert.match(
        r.stderr,
        /refused: no model worker has credit-default version 9 ready \(\d+ worker\(s\) report; ready: /,
      );
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /has no version 99/);
    assert.equal((await store.get(MODEL))?.championVersion, CHAMPION, "the policy is untouched");
  });

  test("a bad policy written to KV fails no call: the last version serves, a restarted router stands in, each logged once", async () => {
    const direct = load(fx, { callers: 2, call: async () => (await viaRouter(1, ["E-1"]))[0]! });
    const edge = load(fx, { callers: 4 });
    await sleep(500);
    await store.put({ model: MODEL, championVersion: "77" });
    await sleep(2500);
    const lines = () =>
      fx
        .logLines("router")
        .filter((x) => x["msg"] === "the policy names a version that is not in the model repository");
    assert.equal(lines().length, 1, "logged once, not on every check");
    const shown = await fx.meshctl("policy", MODEL, "--json");
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual((JSON.parse(shown.stdout) as { problems: string[] }).problems, [
      "credit-default has no version 77 (versions: 1, 2, 3, 4, 5, 9)",
    ]);

    const s0 = await direct.stop();
    // The story: a router restarted while the policy names a missing version.
    fx.mesh.processes.get("router-2")!.kill("SIGTERM");
    await sleep(1000);
    await fx.mesh.startService("router-2");
    const [d] = await viaRouter(1, ["E-1"]);
    assert.deepEqual([d!.modelVersion, d!.degraded], [CHAMPION, true], "the seed version stands in, degraded");
    const standIn = fx.logLines("router-2").filter((x) => x["standIn"] === CHAMPION);
    assert.equal(standIn.length, 1);
    assert.match(String(standIn[0]!["msg"]), /names version 77, which cannot serve: it is not in the model repository/);
    const direct2 = load(fx, { callers: 2, call: async () => (await viaRouter(1, ["E-1"]))[0]! });

    const kv = await nc.jetstream().views.kv(POLICY_BUCKET);
    await kv.put(MODEL, "not a policy");
    await sleep(1500);
    const [s1, s2] = [await edge.stop(), await direct2.stop()];
    console.log(
      `# bad policies, public API: ${loadSummary(s1)}; router-2 directly before its restart: ${loadSummary(s0)}, after: ${loadSummary(s2)}`,
    );
    assert.deepEqual([...s0.failed, ...s1.failed, ...s2.failed], [], "no call fails");
    assert.equal(s2.degraded, s2.ok, "the restarted router's stand-in answers are degraded");
    assert.deepEqual([...s1.versions.keys()], [CHAMPION], "the last version served keeps serving");
    const refused = fx.logLines("router").filter((x) => String(x["msg"]).startsWith("refused a serving policy"));
    assert.equal(refused.length, 1, "the malformed value is logged once");

    const fixed = await fx.meshctl("set-champion", MODEL, CHAMPION);
    assert.equal(fixed.code, 0, fixed.stderr);
    await waitForAsync("router-2 to leave the stand-in", async () => !(await viaRouter(1, ["E-1"]))[0]!.degraded);
  });
});

/** Polls `fn` every 100 ms until it resolves true; fails naming `what` after 10 s. */
async function waitForAsync(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}
