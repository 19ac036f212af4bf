import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "nats";
import { startNatsServer, type NatsServer } from "../../deploy/local/nats-server.js";
import { freePort } from "../../deploy/local/ports.js";
import { RolloutStore } from "../../services/lib/nats/index.js";
import { ArmSample } from "../../services/lib/stats/index.js";

let dir: string;
let nats: NatsServer;
const conns: NatsConnection[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "scoremesh-rollout-lease-"));
  nats = await startNatsServer({ port: await freePort(), dir });
});
after(async () => {
  for (const nc of conns) await nc.close();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const store = async () => {
  const nc = await connect({ servers: nats.url });
  conns.push(nc);
  return RolloutStore.open(nc);
};

test("the controller lease: one holder at a time; another takes over when it lapses or is released", async () => {
  const [a, b] = [await store(), await store()];
  const t0 = Date.now();
  const ttl = 5000;
  const both = await Promise.all([a.acquire("monitor-a", ttl, t0), b.acquire("monitor-b", ttl, t0)]);
  assert.equal(both.filter(Boolean).length, 1, "two replicas racing for a free lease: exactly one wins");
  const [first, firstName, other, otherName] = both[0]
    ? [a, "monitor-a", b, "monitor-b"]
    : [b, "monitor-b", a, "monitor-a"];
  assert.equal(await first.acquire(firstName, ttl, t0 + 1000), true, "the holder renews");
  assert.equal(await other.acquire(otherName, ttl, t0 + 2000), false, "the other waits while the lease is current");
  assert.equal(await other.acquire(otherName, ttl, t0 + 1000 + ttl + 1), true, "a lapsed lease is taken over");
  assert.equal(await first.acquire(firstName, ttl, t0 + 1000 + ttl + 2), false, "the old holder has lost it");
  assert.equal((await a.lease())?.holder, otherName);
  await other.release(otherName);
  assert.equal(await first.acquire(firstName, ttl, t0 + 1000 + ttl + 3), true, "a released lease is free at once");
});

test("the policy history: every change kept, oldest first, per model", async () => {
  const s = await store();
  const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
  await s.record({
    at: at(2),
    model: "m",
    by: "rollout-controller",
    what: "canary 4 at 25 %",
    why: "rollout step 1 passed",
  });
  await s.record({ at: at(1), model: "m", by: "ana", what: "champion 3, canary 4 at 5 %", why: "meshctl rollout m 4" });
  await s.record({
    at: at(3),
    model: "other",
    by: "ana",
    what: "champion 1, no canary",
    why: "meshctl rollback other",
  });
  const h = await s.history("m");
  assert.deepEqual(
    h.map((c) => c.by),
    ["ana", "rollout-controller"],
  );
});

test("the shared rollout windows: one entry per replica, compare-and-set, removed when the rollout ends", async () => {
  const [a, b] = [await store(), await store()];
  const sample = (decisions: number) => {
    const s = new ArmSample();
    for (let i = 0; i < decisions; i++)
      s.add({ score: 0.2, decision: "approve", degraded: false, latencyMs: 3, segment: {} });
    return s.snapshot();
  };
  const win = (holder: string, n: number, stepIndex = 0) => ({
    holder,
    at: new Date().toISOString(),
    key: { model: "w", champion: "3", canary: "4", stepIndex, since: 1 },
    champion: sample(n),
    canary: sample(n),
  });
  const seen = async (s: RolloutStore) =>
    (await s.windows("w")).map((w) => [w.holder, w.key.stepIndex, w.canary.all.decisions]).sort();
  assert.deepEqual(await a.windows("w"), []);
  // Two replicas writing at once: no entry is lost; one that lost the race writes again (the controller does so at
  // its next tick).
  const puts = await Promise.all([
    a.putWindow("w", "monitor-a", win("monitor-a", 10)),
    b.putWindow("w", "monitor-b", win("monitor-b", 5)),
  ]);
  if (!puts[0]) assert.equal(await a.putWindow("w", "monitor-a", win("monitor-a", 10)), true);
  if (!puts[1]) assert.equal(await b.putWindow("w", "monitor-b", win("monitor-b", 5)), true);
  assert.deepEqual(await seen(a), [
    ["monitor-a", 0, 10],
    ["monitor-b", 0, 5],
  ]);
  assert.equal(await a.putWindow("w", "monitor-a", win("monitor-a", 20, 1)), true, "replaces its own entry");
  assert.deepEqual(await seen(b), [
    ["monitor-a", 1, 20],
    ["monitor-b", 0, 5],
  ]);
  assert.equal(await a.putWindow("w", "monitor-a", undefined), true);
  assert.deepEqual(await seen(b), [["monitor-b", 0, 5]]);
  assert.deepEqual(await a.windows("other"), []);
});
