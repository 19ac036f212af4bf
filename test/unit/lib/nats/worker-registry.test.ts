import { test } from "node:test";
import assert from "node:assert/strict";
import type { Logger } from "pino";
import { workerKey } from "../../../../services/lib/nats/worker-registry.js";
import type { WorkerRecord } from "../../../../services/lib/nats/worker-record.js";
import {
  describeWorker,
  WorkerAnnouncer,
  type WorkerFacts,
} from "../../../../services/model-worker/worker-announcer.js";
import { WorkerTable } from "../../../../services/monitor/worker-table.js";

const CUDA_ERROR = "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library";
const facts = (over: Partial<WorkerFacts> = {}): WorkerFacts => ({
  address: "127.0.0.1:50081",
  host: "node-3",
  pid: 4711,
  startedAt: new Date(1_700_000_000_000),
  providersRequested: ["cpu"],
  versions: [
    { model: "credit-default", version: "10", provider: "cpu", ready: true },
    { model: "credit-default", version: "2", provider: "cpu", ready: false },
  ],
  fallbacks: new Map(),
  refused: new Map(),
  ...over,
});
const onCuda = (over: Partial<WorkerFacts> = {}) =>
  facts({
    providersRequested: ["cuda", "cpu"],
    fallbacks: new Map([["cuda", CUDA_ERROR]]),
    versions: [{ model: "credit-default", version: "3", provider: "cpu", ready: true }],
    ...over,
  });

/** A logger that keeps what was logged at warn and info. */
function captureLog() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: unknown, msg?: string) => void lines.push({ level, msg: msg ?? "" });
  const log = { warn: at("warn"), info: at("info"), debug: at("debug"), error: at("error") } as unknown as Logger;
  return { log, lines };
}

test("describeWorker: providers in the requested order, versions sorted, refusals split, times in ISO 8601", () => {
  const r = describeWorker(
    facts({
      providersRequested: ["cuda", "tensorrt", "cpu"],
      fallbacks: new Map([
        ["tensorrt", "no TensorRT"],
        ["cuda", CUDA_ERROR],
      ]),
      refused: new Map([["credit-default/5", "feature spec skew"]]),
    }),
    new Date(1_700_000_005_000),
  );
  assert.deepEqual(r, {
    address: "127.0.0.1:50081",
    instance: "node-3/4711",
    pid: 4711,
    providersRequested: ["cuda", "tensorrt", "cpu"],
    providersActive: ["cpu"],
    fallbacks: [
      { provider: "cuda", reason: CUDA_ERROR },
      { provider: "tensorrt", reason: "no TensorRT" },
    ],
    models: [
      { model: "credit-default", version: "2", provider: "cpu", ready: false },
      { model: "credit-default", version: "10", provider: "cpu", ready: true },
    ],
    refused: [{ model: "credit-default", version: "5", reason: "feature spec skew" }],
    startedAt: "2023-11-14T22:13:20.000Z",
    updatedAt: "2023-11-14T22:13:25.000Z",
  } satisfies WorkerRecord);
});

test("workerKey: one valid NATS key per host and address", () => {
  assert.equal(workerKey("node-3", "127.0.0.1:50081"), "node-3_127_0_0_1_50081");
  assert.equal(workerKey("pod.ns", "[::1]:50081"), "pod_ns____1__50081");
  assert.notEqual(workerKey("a", "127.0.0.1:50081"), workerKey("a", "127.0.0.1:50082"));
});

test("WorkerTable: writes replace, deletes remove, and what is not rewritten within the TTL is dropped", () => {
  const table = new WorkerTable({ ttlMs: 30_000 });
  const a = describeWorker(facts(), new Date(0));
  const b = describeWorker(onCuda({ address: "127.0.0.1:50082" }), new Date(0));
  table.apply({ key: "a", record: a }, 1_000);
  table.apply({ key: "b", record: b }, 2_000);
  assert.deepEqual(
    table.list(2_000).map((w) => [w.key, w.ageMs]),
    [
      ["a", 1_000],
      ["b", 0],
    ],
    "sorted by address",
  );

  const [wa, wb] = table.list(2_000);
  assert.equal(wa?.cpuFallback, false, "cpu asked, cpu got: no fallback");
  assert.equal(wa?.fallbackReason, "");
  assert.deepEqual(wa?.ready, ["credit-default/10"], "only warmed-up versions are ready");
  assert.equal(wb?.cpuFallback, true, "cuda asked, cpu got");
  assert.equal(wb?.fallbackReason, `cuda: ${CUDA_ERROR}`);
  assert.deepEqual(wb?.ready, ["credit-default/3"]);

  // A refresh of "a" keeps it; "b" is not refreshed and expires; a restarted "b" comes back under its key.
  table.apply({ key: "a", record: { ...a, updatedAt: new Date(25_000).toISOString() } }, 25_000);
  assert.deepEqual(
    table.list(31_999).map((w) => w.key),
    ["a", "b"],
  );
  assert.deepEqual(
    table.list(32_000).map((w) => w.key),
    ["a"],
    "b was last seen 30 s before",
  );
  table.apply({ key: "b", record: { ...b, instance: "node-3/4712" } }, 33_000);
  assert.deepEqual(
    table.list(33_000).map((w) => w.instance),
    ["node-3/4711", "node-3/4712"],
  );

  // A graceful shutdown deletes the key; a delete of an unknown key is harmless.
  table.apply({ key: "a" }, 34_000);
  table.apply({ key: "nobody" }, 34_000);
  assert.deepEqual(
    table.list(34_000).map((w) => w.key),
    ["b"],
  );
});

test("WorkerTable: a fallback that still ended on an accelerator is not a CPU fallback", () => {
  const table = new WorkerTable();
  const r = describeWorker(
    facts({
      providersRequested: ["tensorrt", "cuda", "cpu"],
      fallbacks: new Map([["tensorrt", "no TensorRT"]]),
      versions: [{ model: "m", version: "1", provider: "cuda", ready: true }],
    }),
    new Date(0),
  );
  table.apply({ key: "k", record: r }, 0);
  const [w] = table.list(0);
  assert.equal(w?.cpuFallback, false);
  assert.equal(w?.fallbackReason, "tensorrt: no TensorRT", "the failed provider is still reported");
});

test("WorkerAnnouncer: best effort (a failure is logged once and retried), no overlapping writes, delete on close", async () => {
  const { log, lines } = captureLog();
  const puts: WorkerRecord[] = [];
  const removed: string[] = [];
  let up = false;
  let opens = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const store = {
    async put(_key: string, r: WorkerRecord) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((res) => setTimeout(res, 5));
      inFlight--;
      if (!up) throw new Error("TIMEOUT");
      puts.push(r);
    },
    async remove(key: string) {
      removed.push(key);
    },
  };
  let n = 0;
  const a = new WorkerAnnouncer({
    key: "k",
    describe: () => ({ ...describeWorker(facts(), new Date(0)), pid: ++n }),
    open: async () => {
      opens++;
      if (opens === 1) throw new Error("no JetStream");
      return store;
    },
    log,
    refreshMs: 60_000,
  });
  await a.publish(); // the store cannot be opened
  await a.publish(); // opened, but the write times out
  await a.publish(); // still failing: not logged again
  assert.equal(puts.length, 0);
  assert.equal(lines.filter((l) => l.level === "warn").length, 1, "a failure is logged once");

  up = true;
  await Promise.all([a.publish(), a.publish(), a.publish()]);
  assert.equal(maxInFlight, 1, "writes never overlap");
  assert.equal(puts.length, 2, "one write, then one more for the calls made during it");
  assert.equal(puts.at(-1)?.pid, n, "the last write has the latest record");
  assert.ok(
    lines.some((l) => l.level === "info" && /published again/.test(l.msg)),
    "the recovery is logged",
  );
  assert.equal(opens, 2, "the store is opened once it can be");

  await a.close();
  assert.deepEqual(removed, ["k"]);
  await a.publish();
  assert.equal(puts.length, 2, "nothing is written after close");
});

test("WorkerAnnouncer: close gives up on a delete NATS does not take, and says the record will expire", async () => {
  const { log, lines } = captureLog();
  const a = new WorkerAnnouncer({
    key: "k",
    describe: () => describeWorker(facts(), new Date(0)),
    open: async () => ({ put: async () => undefined, remove: () => new Promise<void>(() => undefined) }),
    log,
    closeTimeoutMs: 20,
  });
  await a.publish();
  const t0 = performance.now();
  await a.close();
  assert.ok(performance.now() - t0 < 1000);
  assert.ok(lines.some((l) => l.level === "warn" && /expires on its own/.test(l.msg)));
});
