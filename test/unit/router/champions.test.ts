import { test } from "node:test";
import assert from "node:assert/strict";
import { ChampionTable } from "../../../services/router/champions.js";

test("a new champion is adopted only once it is ready, and the old one serves until then", async () => {
  const t = new ChampionTable();
  assert.equal(t.want("m", "1"), true);
  assert.equal(t.champion("m"), undefined);
  assert.deepEqual(await t.reconcile(async () => true), [{ model: "m", arm: "champion", from: undefined, to: "1" }]);
  assert.equal(t.champion("m"), "1");

  assert.equal(t.want("m", "2"), true);
  assert.deepEqual(await t.reconcile(async () => false), []);
  assert.equal(t.champion("m"), "1", "not ready: keep serving version 1");
  assert.equal(t.pendingFor("m"), "2");
  assert.deepEqual(await t.reconcile(async (_m, v) => v === "2"), [
    { model: "m", arm: "champion", from: "1", to: "2" },
  ]);
  assert.equal(t.champion("m"), "2");
  assert.equal(t.pendingFor("m"), undefined);
});

test("wanting the active champion again is a no-op and cancels a pending switch", async () => {
  const t = new ChampionTable();
  t.want("m", "1");
  await t.reconcile(async () => true);
  t.want("m", "2");
  assert.equal(t.want("m", "1"), false);
  assert.equal(t.pendingFor("m"), undefined);
  assert.deepEqual(await t.reconcile(async () => true), []);
  assert.equal(t.champion("m"), "1");
});

test("a policy that moves on during the readiness check is not overwritten by the stale one", async () => {
  const t = new ChampionTable();
  t.want("m", "1");
  await t.reconcile(async () => true);
  t.want("m", "2");
  const adopted = await t.reconcile(async () => {
    t.want("m", "3"); // a newer policy arrives while version 2 is being checked
    return true;
  });
  assert.deepEqual(adopted, []);
  assert.equal(t.champion("m"), "1");
  assert.equal(t.pendingFor("m"), "3");
});

test("models are independent", async () => {
  const t = new ChampionTable();
  t.want("a", "1");
  t.want("b", "7");
  await t.reconcile(async (m) => m === "a");
  assert.equal(t.champion("a"), "1");
  assert.equal(t.champion("b"), undefined);
  assert.deepEqual(t.models(), ["a"]);
});

test("a canary is adopted once ready; a new percent takes effect at once; removing it (rollback) too", async () => {
  const t = new ChampionTable();
  t.want("m", "1");
  assert.equal(t.wantCanary("m", { version: "2", percent: 10 }), true);
  assert.deepEqual(await t.reconcile(async (_m, v) => v === "1"), [
    { model: "m", arm: "champion", from: undefined, to: "1" },
  ]);
  assert.equal(t.canary("m"), undefined, "version 2 is not ready: no canary yet");
  assert.deepEqual(await t.reconcile(async () => true), [{ model: "m", arm: "canary", from: undefined, to: "2" }]);
  assert.deepEqual(t.canary("m"), { version: "2", percent: 10 });
  assert.equal(t.wantCanary("m", { version: "2", percent: 20 }), true);
  assert.deepEqual(t.canary("m"), { version: "2", percent: 20 }, "a new share needs no readiness check");
  assert.equal(t.wantCanary("m", { version: "2", percent: 20 }), false);
  assert.equal(t.wantCanary("m", undefined), true);
  assert.equal(t.canary("m"), undefined, "a rollback takes effect at once");
  assert.equal(t.wantCanary("m", undefined), false);
});

test("a stand-in serves only while the model has no champion, and the policy's champion replaces it once ready", async () => {
  const t = new ChampionTable();
  t.want("m", "9");
  assert.equal(t.standIn("m", "3", "version 9 is not in the repository"), true);
  assert.equal(t.champion("m"), "3");
  assert.equal(t.standInFor("m"), "version 9 is not in the repository");
  assert.equal(t.standIn("m", "1", "again"), false, "not over a champion");
  assert.equal(t.pendingFor("m"), "9", "the policy's champion is still wanted");
  await t.reconcile(async () => true);
  assert.equal(t.champion("m"), "9");
  assert.equal(t.standInFor("m"), undefined);
});

test("a policy that names the stand-in's version makes it the champion, no longer degraded", () => {
  const t = new ChampionTable();
  t.want("m", "9");
  t.standIn("m", "3", "broken");
  assert.equal(t.want("m", "3"), false);
  assert.equal(t.standInFor("m"), undefined);
  assert.equal(t.pendingFor("m"), undefined);
});
