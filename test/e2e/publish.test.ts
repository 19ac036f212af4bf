import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import { createClient } from "@connectrpc/connect";
import { GRPCInferenceService } from "../../gen/inference/grpc_predict_v2_pb.js";
import { createGrpcTransport } from "../../services/lib/rpc/index.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { sha256Hex } from "../../services/lib/model/index.js";
import { ModelStore, WorkerStore } from "../../services/lib/nats/index.js";
import { controlPolicies } from "../support/policy-writer.js";
import { load, loadSummary, sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const SHIPPED = join(PROJECT_ROOT, "models", MODEL, "4");

/** A copy of shipped version 4 under `version` in `dir` (outside models/), its card edited by `edit`. */
function versionFolder(dir: string, version: string, edit: (card: Record<string, unknown>) => void = () => {}) {
  const to = join(dir, `v${version}`);
  cpSync(SHIPPED, to, { recursive: true });
  const card = JSON.parse(readFileSync(join(to, "card.json"), "utf8")) as Record<string, unknown>;
  card["version"] = version;
  edit(card);
  writeFileSync(join(to, "card.json"), JSON.stringify(card, null, 2));
  return to;
}

describe("meshctl publish and retire: new versions on a running mesh", () => {
  let fx: MeshFixture;
  let nc: NatsConnection;
  let dir: string;

  const readyOn = async (version: string) =>
    (await (await WorkerStore.open(nc)).list()).filter((w) =>
      w.models.some((m) => m.model === MODEL && m.version === version && m.ready),
    ).length;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "scoremesh-publish-"));
    // Two workers in two pools (WORKER_LABELS), for the pool rule test.
    fx = await startMeshFixture({}, { workers: 2, workerLabels: ["cpu", "gpu"] });
    ({ nc } = await controlPolicies(fx.mesh));
  });
  after(async () => {
    await nc?.close();
    await fx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a version published under load: 0 failed calls, every worker has it ready, then a canary to it answers", async () => {
    const pids = ["model-worker", "model-worker-2", "router"].map((i) => fx.mesh.processes.get(i as never)?.pid);
    const t0 = performance.now();
    const failedAt: number[] = [];
    const score = (inputs: Record<string, number>, timeoutMs: number) =>
      fx.scoring.score({ model: MODEL, inputs }, { timeoutMs }).catch((err: unknown) => {
        failedAt.push(Math.round(performance.now() - t0));
        throw err;
      });
    // A 5 s deadline, not load()'s 2 s: ONNX Runtime loads a version on the worker's main thread (about 0.1 s of
    // CPU per worker here), and on the shared 2-core machine at a load average of 20 that pushed four calls of
    // this 4-hop path past 2 s in two of four runs (calls already took up to 1.3 s without a publish).
    const l = load(fx, { callers: 4, call: score, timeoutMs: 5000 });
    try {
      await publishUnderLoad(l);
    } finally {
      await l.stop();
      console.log(`failed calls at (ms since the load started): ${JSON.stringify(failedAt)}; ${marks.join(", ")}`);
    }
    const again = await fx.meshctl("publish", MODEL, join(dir, "v7"), "--wait", "0");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already published with the same bytes/);
    assert.deepEqual(
      ["model-worker", "model-worker-2", "router"].map((i) => fx.mesh.processes.get(i as never)?.pid),
      pids,
      "no restart",
    );
  });

  const marks: string[] = [];
  const mark = (what: string, t0: number) =>
    marks.push(`${what} at ${Math.round(performance.now() - t0)} ms ${new Date().toISOString()}`);

  async function publishUnderLoad(l: ReturnType<typeof load>) {
    const t0 = performance.now();
    await sleep(500);
    mark("publish started", t0);
    const r = await fx.meshctl("publish", MODEL, versionFolder(dir, "7"), "--json", "--wait", "30");
    mark("publish done", t0);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      status: string;
      version: string;
      readyOn: string[];
      manifest: { files: { name: string; sha256: string }[] };
    };
    assert.equal(out.status, "published");
    assert.equal(out.version, "7");
    assert.ok(out.readyOn.length >= 1, r.stdout);
    assert.equal(
      out.manifest.files.find((f) => f.name === "model.onnx")?.sha256,
      sha256Hex(readFileSync(join(SHIPPED, "model.onnx"))),
    );
    const until = Date.now() + 20_000;
    while ((await readyOn("7")) < 2 && Date.now() < until) await sleep(200);
    const records = (await (await WorkerStore.open(nc)).list()).map(
      (w) => `${w.address} ${w.updatedAt} ${JSON.stringify(w.models.filter((m) => m.model === MODEL))}`,
    );
    assert.equal(
      await readyOn("7"),
      2,
      `both workers load the published version, each from its own cache\n${records.join("\n")}`,
    );

    mark("both workers ready", t0);
    const c = await fx.meshctl("canary", MODEL, "7", "--percent", "50");
    assert.equal(c.code, 0, c.stderr);
    mark("canary set", t0);
    const seen = Date.now() + 15_000;
    while (!l.stats.versions.get("7") && Date.now() < seen) await sleep(100);
    await sleep(500);
    const s = await l.stop();
    console.log(`publish under load: ${loadSummary(s)}`);
    assert.deepEqual(s.failed, []);
    assert.ok((s.versions.get("7") ?? 0) > 0, "answers from version 7 arrive");
  }

  test("refused with the reason: incomplete, malformed, corrupt, another spec, a number taken by other bytes", async () => {
    const cases: [string, string, RegExp][] = [];
    const incomplete = versionFolder(dir, "6");
    rmSync(join(incomplete, "model.onnx"));
    cases.push(["incomplete", incomplete, /incomplete version folder .*no model\.onnx/]);
    cases.push([
      "malformed",
      versionFolder(dir, "7", (c) => (c["thresholds"] = { review: 0.9, decline: 0.2 })),
      /malformed card\.json: thresholds/,
    ]);
    const truncated = versionFolder(dir, "8");
    writeFileSync(join(truncated, "model.onnx"), readFileSync(join(truncated, "model.onnx")).subarray(0, 5000));
    cases.push(["truncated", truncated, /model\.onnx does not load in ONNX Runtime/]);
    const sums = versionFolder(dir, "9");
    writeFileSync(join(sums, "SHA256SUMS"), `${"0".repeat(64)}  model.onnx\n`);
    cases.push(["checksum", sums, /corrupt model\.onnx: its sha256 is [0-9a-f]{64}, SHA256SUMS says 0{64}/]);
    cases.push([
      "spec",
      versionFolder(dir, "10", (c) => (c["feature_spec_hash"] = "sha256:0000000000000000")),
      /trained with feature spec sha256:0000000000000000, but the spec in use is/,
    ]);
    cases.push([
      "taken",
      versionFolder(join(dir, "t"), "7", (c) => (c["description"] = "other")),
      /version 7 already exists in the model store \(scoremesh_models\) with other bytes \(card\.json differs\)/,
    ]);
    cases.push(["shipped", versionFolder(join(dir, "s"), "3"), /version 3 already exists in the model repository/]);
    // Up to four refused publishes at once (each a meshctl process); none of them writes to the store.
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const runs = await Promise.all(batch.map(([, folder]) => fx.meshctl("publish", MODEL, folder, "--wait", "0")));
      batch.forEach(([what, , reason], k) => {
        assert.equal(runs[k]!.code, 1, `${what}: ${runs[k]!.stdout}${runs[k]!.stderr}`);
        assert.match(runs[k]!.stderr, reason, what);
      });
    }
    const store = (await ModelStore.open(nc))!;
    assert.deepEqual(
      (await store.list()).published.map((p) => p.version),
      ["7"],
      "nothing refused was uploaded",
    );
  });

  test("a worker refuses a published file whose SHA-256 is not its manifest's", async () => {
    const store = (await ModelStore.open(nc))!;
    const good = readFileSync(join(SHIPPED, "model.onnx"));
    const card = readFileSync(join(versionFolder(join(dir, "x"), "11"), "card.json"));
    await store.os.putBlob({ name: `versions/${MODEL}/11/card.json` }, card);
    await store.os.putBlob({ name: `versions/${MODEL}/11/model.onnx` }, good.subarray(0, 100));
    const files = [
      { name: "card.json", sha256: sha256Hex(card), size: card.length },
      { name: "model.onnx", sha256: sha256Hex(good), size: good.length },
    ];
    const manifest = { model: MODEL, version: "11", files, publishedBy: "test", publishedAt: new Date().toISOString() };
    await store.os.putBlob(
      { name: `versions/${MODEL}/11/manifest.json` },
      new TextEncoder().encode(JSON.stringify(manifest)),
    );
    const until = Date.now() + 10_000;
    const refused = () =>
      fx
        .logLines("model-worker")
        .find(
          (l) =>
            l["msg"] === "published model version refused: its download failed its checks" && l["version"] === "11",
        );
    while (!refused() && Date.now() < until) await sleep(200);
    assert.ok(refused(), "the worker logs the refusal");
    assert.match(JSON.stringify(refused()), /sha256/);
    assert.equal(await readyOn("11"), 0);
  });

  test("retire: refused while a policy points to the version; afterwards the policy commands refuse it; files stay", async () => {
    const [champion, canary] = await Promise.all([fx.meshctl("retire", MODEL, "3"), fx.meshctl("retire", MODEL, "7")]);
    assert.equal(champion.code, 1, champion.stdout);
    assert.match(champion.stderr, /version 3 is the champion of credit-default/);
    assert.equal(canary.code, 1);
    assert.match(canary.stderr, /version 7 is the canary of credit-default/);

    const unused = await fx.meshctl("retire", MODEL, "2", "--json");
    assert.equal(unused.code, 0, unused.stderr);
    assert.equal((JSON.parse(unused.stdout) as { status: string }).status, "retired");
    const refusals = [
      ["set-champion", MODEL, "2"],
      ["canary", MODEL, "2", "--percent", "10"],
      ["shadow", MODEL, "2", "--sample", "0.5"],
    ];
    const runs = await Promise.all(refusals.map((args) => fx.meshctl(...args)));
    refusals.forEach((args, i) => {
      assert.equal(runs[i]!.code, 1, args.join(" "));
      assert.match(
        runs[i]!.stderr,
        /credit-default version 2 was retired by .*: no policy may point to it/,
        args.join(" "),
      );
    });

    assert.equal((await fx.meshctl("rollback", MODEL)).code, 0);
    const published = await fx.meshctl("retire", MODEL, "7");
    assert.equal(published.code, 0, published.stderr);
    assert.match(published.stdout, /its files stay in the model store \(scoremesh_models\) for audit replay/);
    const store = (await ModelStore.open(nc))!;
    assert.ok(await store.manifest(MODEL, "7"), "the manifest is still there");
    assert.equal((await store.download((await store.manifest(MODEL, "7"))!)).length, 2, "and its files, checked");
    const promote = await fx.meshctl("canary", MODEL, "7", "--percent", "10");
    assert.equal(promote.code, 1);
    assert.match(promote.stderr, /version 7 was retired/);
  });

  /** Rows each worker has run of `version` (its OIP statistics), by instance. */
  async function rowsRunOn(version: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const name of ["model-worker", "model-worker-2"] as const) {
      const t = createGrpcTransport({ address: fx.mesh.addressOf(name), credentials: fx.mesh.credentials(name) });
      try {
        const s = await createClient(GRPCInferenceService, t).modelStatistics({ name: MODEL }, { timeoutMs: 2000 });
        out[name] = Number(s.modelStats.find((m) => m.version === version)?.inferenceCount ?? 0);
      } finally {
        t.close();
      }
    }
    return out;
  }

  test("worker pools: a label no worker carries is refused; a pool rule sends the champion's rows only to the labelled worker", async () => {
    const records = await (await WorkerStore.open(nc)).list();
    assert.deepEqual(records.map((w) => w.labels?.join(",")).sort(), ["cpu", "gpu"], "each worker announces its label");
    const tpu = await fx.meshctl("pool", MODEL, "3", "--label", "tpu");
    assert.equal(tpu.code, 1, tpu.stdout);
    assert.match(tpu.stderr, /refused: no live model worker carries label tpu \(2 worker\(s\) report; labels: .*gpu/);
    const set = await fx.meshctl("pool", MODEL, "3", "--label", "gpu", "--json");
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual((JSON.parse(set.stdout) as { pools: unknown }).pools, [{ version: "3", label: "gpu" }]);
    const l = load(fx, { callers: 2 });
    try {
      const pooled = () => fx.logLines("router").some((x) => x["msg"] === "worker pool serves its version");
      const until = Date.now() + 15_000;
      while (!pooled() && Date.now() < until) await sleep(200);
      assert.ok(pooled(), "the router follows the rule");
      const before = await rowsRunOn("3");
      await sleep(1500);
      const after = await rowsRunOn("3");
      const ran = (n: string) => after[n]! - before[n]!;
      console.log(`# pool rule 3 → gpu: rows run on cpu ${ran("model-worker")}, on gpu ${ran("model-worker-2")}`);
      assert.equal(ran("model-worker"), 0, "the cpu worker runs none of version 3's rows");
      assert.ok(ran("model-worker-2") > 0, "the gpu worker runs them");
    } finally {
      const s = await l.stop();
      assert.deepEqual(s.failed, []);
    }
    const metrics = await (await fetch(fx.mesh.metricsUrlOf("router"))).text();
    assert.match(
      metrics,
      /scoremesh_router_pool_calls_total\{target="credit-default\/3",label="gpu",outcome="pool"[^}]*\} [1-9]/,
    );
    const off = await fx.meshctl("pool", MODEL, "3", "--off");
    assert.equal(off.code, 0, off.stderr);
  });

  test("retire under load: every worker drains and unloads the version (record, ModelReady), 0 failed calls", async () => {
    const l = load(fx, { callers: 2 });
    let stats;
    try {
      await sleep(300);
      const t0 = performance.now();
      const r = await fx.meshctl("retire", MODEL, "4");
      assert.equal(r.code, 0, r.stderr);
      const retiredMs = Math.round(performance.now() - t0);
      const listed = async () =>
        (await (await WorkerStore.open(nc)).list()).filter((w) =>
          w.models.some((m) => m.model === MODEL && m.version === "4"),
        );
      const unloaded = (n: string) =>
        fx
          .logLines(n)
          .some((x) => x["msg"] === "retired model version unloaded (session released)" && x["version"] === "4");
      const until = Date.now() + 15_000;
      while (
        ((await listed()).length > 0 || !unloaded("model-worker") || !unloaded("model-worker-2")) &&
        Date.now() < until
      )
        await sleep(200);
      console.log(
        `retire: meshctl took ${retiredMs} ms; unloaded everywhere ${Math.round(performance.now() - t0)} ms after it began`,
      );
      assert.deepEqual(
        (await listed()).map((w) => w.address),
        [],
        "no worker record lists version 4",
      );
      assert.ok(unloaded("model-worker") && unloaded("model-worker-2"), "both workers released its session");
      const gone = (await (await WorkerStore.open(nc)).list()).flatMap((w) =>
        w.models
          .filter((m) => m.model === MODEL && ["2", "7"].includes(m.version))
          .map((m) => `${w.address} ${m.version}`),
      );
      assert.deepEqual(gone, [], "versions retired before are gone too");
    } finally {
      stats = await l.stop();
    }
    console.log(`# retire under load: ${loadSummary(stats)}`);
    assert.deepEqual(stats.failed, []);
    // What audit replay does: a ModelInfer that names the retired version. The worker loads it for the call.
    const vector = (
      JSON.parse(readFileSync(join(PROJECT_ROOT, "models", MODEL, "golden.json"), "utf8")) as {
        cases: { vector: number[] }[];
      }
    ).cases[0]!.vector;
    const t = createGrpcTransport({
      address: fx.mesh.addressOf("model-worker"),
      credentials: fx.mesh.credentials("model-worker"),
    });
    try {
      const res = await createClient(GRPCInferenceService, t).modelInfer(
        {
          modelName: MODEL,
          modelVersion: "4",
          inputs: [
            {
              name: "features",
              datatype: "FP32",
              shape: [1n, BigInt(vector.length)],
              contents: { fp32Contents: vector },
            },
          ],
        },
        { timeoutMs: 10_000 },
      );
      assert.equal(res.modelVersion, "4", "a retired version still scores for a replay");
    } finally {
      t.close();
    }
  });
});
