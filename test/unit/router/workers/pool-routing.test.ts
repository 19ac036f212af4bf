import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { pino } from "pino";
import { floatBytes, type ModelCard } from "../../../../services/lib/model/index.js";
import { labelsIn, WorkerPoolFacts } from "../../../../services/router/workers/pool-facts.js";
import { poolOrder, PoolRouting, type PoolFacts } from "../../../../services/router/workers/pool-routing.js";
import { RetryBudgets } from "../../../../services/router/workers/retry-budget.js";
import { callWorkers } from "../../../../services/router/workers/worker-call.js";
import type { WorkerEndpoint } from "../../../../services/router/workers/worker-pool.js";

const MODEL = "credit-default";
/** Worker endpoints whose client answers ModelInfer with `score`, or fails with `fail`; each counts its calls. */
function endpoint(address: string, o: { labels?: string[]; ready?: string[]; fail?: Code } = {}) {
  const calls: string[] = [];
  const ep = {
    address,
    client: {
      serverMetadata: () =>
        Promise.resolve({ extensions: ["statistics", ...(o.labels ?? []).map((l) => `worker_label:${l}`)] }),
      modelReady: (r: { version: string }) => Promise.resolve({ ready: o.ready?.includes(r.version) ?? false }),
      modelInfer: (r: { modelVersion: string }) => {
        calls.push(r.modelVersion);
        if (o.fail !== undefined) return Promise.reject(new ConnectError("fake", o.fail));
        return Promise.resolve({ rawOutputContents: [floatBytes(new Float32Array([0.5]))] });
      },
    },
  } as unknown as WorkerEndpoint;
  return { ep, calls };
}
/** Facts from a table: address → labels, and the versions each has ready. */
const factsOf = (t: Record<string, { labels: string[]; ready: string[] }>): PoolFacts => ({
  fits: (a, label, _m, v) => (t[a]?.labels.includes(label) ?? false) && (t[a]?.ready.includes(v) ?? false),
});
const policy = (pools: { version: string; label: string }[]) => ({ model: MODEL, pools }) as never;
/** A logger whose lines are kept. */
function captured() {
  const lines: { msg: string; level: number }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as never) });
  return { log, lines };
}

test("poolOrder: the pool's serving workers first, then the other serving ones, then those down; none in the pool: all as before", () => {
  const [a, b, c, d] = ["a", "b", "c", "d"].map((x) => endpoint(x).ep);
  const addrs = (o: { order: WorkerEndpoint[]; pooled: boolean }) => [o.order.map((e) => e.address).join(""), o.pooled];
  assert.deepEqual(addrs(poolOrder([a!, b!, c!], [d!], (x) => x === "b" || x === "d")), ["bacd", true]);
  assert.deepEqual(addrs(poolOrder([a!, b!], [d!], (x) => x === "d")), ["abd", false], "a worker down is no pool");
  assert.deepEqual(addrs(poolOrder([a!, b!], [], () => false)), ["ab", false]);
});

test("PoolRouting: a pooled version goes to its label's ready workers; no such worker: any worker, logged once per change and counted", () => {
  const table = { cpu: { labels: ["cpu"], ready: ["3", "5"] }, gpu: { labels: ["gpu"], ready: ["3", "5"] } };
  const { log, lines } = captured();
  const routing = new PoolRouting(factsOf(table), log);
  let changes = 0;
  routing.onChange = () => changes++;
  routing.follow(policy([{ version: "3", label: "gpu" }]));
  routing.follow(policy([{ version: "3", label: "gpu" }]));
  assert.equal(changes, 1, "the same rules are no change");
  const cpu = endpoint("cpu").ep;
  const gpu = endpoint("gpu").ep;
  const first = (v: string) => routing.order(MODEL, v, [cpu, gpu], [])[0]!.address;
  assert.equal(first("3"), "gpu");
  assert.equal(first("3"), "gpu");
  assert.deepEqual(
    routing.order(MODEL, "5", [cpu, gpu], []).map((e) => e.address),
    ["cpu", "gpu"],
    "no rule: as given",
  );
  table.gpu.ready = ["5"]; // the gpu worker lost version 3
  assert.equal(first("3"), "cpu", "fallback: any worker that has it");
  assert.equal(first("3"), "cpu");
  table.gpu.ready = ["3"];
  assert.equal(first("3"), "gpu");
  assert.deepEqual(routing.counts().get(`${MODEL}/3`), { label: "gpu", pool: 3, fallback: 2 });
  const msgs = lines.map((l) => l.msg).filter((m) => /pool/.test(m));
  assert.deepEqual(msgs, [
    "worker pool rules changed",
    "worker pool serves its version",
    "no serving worker with the pool's label has the version ready: any worker that has it serves it",
    "worker pool serves its version",
  ]);
  routing.follow(policy([]));
  assert.equal(routing.labelOf(MODEL, "3"), undefined, "rules removed");
  assert.deepEqual(routing.pooled(), []);
});

test("callWorkers under a pool rule: rows go only to the labelled worker; when it fails, the retry goes to another", async () => {
  const cpu = endpoint("cpu");
  const gpu = endpoint("gpu");
  const routing = new PoolRouting(
    factsOf({ gpu: { labels: ["gpu"], ready: ["3"] }, cpu: { labels: ["cpu"], ready: ["3"] } }),
  );
  routing.follow(policy([{ version: "3", label: "gpu" }]));
  const card = { features: ["a"], onnx: { inputs: [{ name: "x" }], score_output: "p" } } as unknown as ModelCard;
  const c = (version: string) => ({
    model: MODEL,
    version,
    card,
    matrix: new Float32Array([1]),
    rows: 1,
    timeoutMs: 500,
  });
  const retry = { budgets: new RetryBudgets(), random: () => 0, sleep: () => Promise.resolve(true) };
  let turn = 0;
  const pool = (eps: WorkerEndpoint[]) => ({
    candidates: (m?: string, v?: string) => {
      const up = turn++ % 2 ? [eps[1]!, eps[0]!] : [...eps]; // round-robin, as WorkerPool turns
      return routing.order(m!, v!, up, []);
    },
  });
  for (let i = 0; i < 6; i++) await callWorkers(pool([cpu.ep, gpu.ep]), c("3"), undefined, retry);
  assert.deepEqual([cpu.calls.length, gpu.calls.length], [0, 6], "version 3 only on the gpu worker");
  for (let i = 0; i < 4; i++) await callWorkers(pool([cpu.ep, gpu.ep]), c("5"), undefined, retry);
  assert.deepEqual([cpu.calls.length, gpu.calls.length], [2, 8], "version 5 (no rule) on both");
  const down = endpoint("gpu", { fail: Code.Unavailable });
  const cpu2 = endpoint("cpu");
  await callWorkers(pool([cpu2.ep, down.ep]), c("3"), undefined, retry);
  assert.deepEqual([down.calls.length, cpu2.calls.length], [1, 1], "the pool first, then a failover outside it");
});

test("WorkerPoolFacts: labels from ServerMetadata, readiness of the pooled versions from ModelReady; nothing asked without rules", async () => {
  assert.deepEqual(labelsIn(["statistics", "worker_label:gpu", "execution_provider:cpu", "worker_label:fast"]), [
    "gpu",
    "fast",
  ]);
  const cpu = endpoint("cpu", { labels: ["cpu"], ready: ["3"] });
  const gpu = endpoint("gpu", { labels: ["gpu"], ready: ["3"] });
  let pooled: { model: string; version: string; label: string }[] = [];
  const facts = new WorkerPoolFacts({ endpoints: () => [cpu.ep, gpu.ep], pooled: () => pooled });
  await facts.refresh();
  assert.deepEqual(facts.labelsOf("gpu"), [], "no rule: not asked");
  pooled = [{ model: MODEL, version: "3", label: "gpu" }];
  await facts.refresh();
  assert.deepEqual([facts.labelsOf("cpu"), facts.labelsOf("gpu")], [["cpu"], ["gpu"]]);
  assert.equal(facts.fits("gpu", "gpu", MODEL, "3"), true);
  assert.equal(facts.fits("cpu", "gpu", MODEL, "3"), false, "another label");
  assert.equal(facts.fits("gpu", "gpu", MODEL, "4"), false, "a version not asked about");
  const gone = endpoint("gpu", { labels: ["gpu"], ready: [] });
  const facts2 = new WorkerPoolFacts({ endpoints: () => [gone.ep], pooled: () => pooled });
  await facts2.refresh();
  assert.equal(facts2.fits("gpu", "gpu", MODEL, "3"), false, "labelled but not ready");
});
