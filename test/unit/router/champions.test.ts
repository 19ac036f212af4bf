import { test } from "node:test";
import assert from "node:assert/strict";
import { ChampionTable } from "../../../services/router/champions.js";

test("a new champion is adopted only once it is ready, and the old one serves until then", async () => {
  const t = new ChampionTable();
  assert.equal(t.want("m", "1"), true);
  assert.equal(t.champion("m"), undefined);
  assert.deepEqual(await t.reconcile(async () => true), [{ model: "m", from: undefined, to: "1" }]);
  assert.equal(t.champion("m"), "1");

  assert.equal(t.want("m", "2"), true);
  assert.deepEqual(await t.reconcile(async () => false), []);
  assert.equal(t.champion("m"), "1", "not ready: keep serving version 1");
  assert.equal(t.pendingFor("m"), "2");
  assert.deepEqual(await t.reconcile(async (_m, v) => v === "2"), [{ model: "m", from: "1", to: "2" }]);
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
