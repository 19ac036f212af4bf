import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { ModelRepository, specHash, type FeatureSpec } from "../../../services/lib/model/index.js";
import type { ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import { CardCache } from "../../../services/router/card-cache.js";
import { ChampionReconciler } from "../../../services/router/champion-reconciler.js";
import { ChampionTable } from "../../../services/router/champions.js";

/** Lets a reconcile that `follow` started finish (the fakes answer at once). */
const settle = () => new Promise((resolve) => setImmediate(resolve));
const spec = { features: [] } as unknown as FeatureSpec;
const roots: string[] = [];
after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** A repository in a temporary folder: model "m", versions added with the spec hash of their card. */
function repository() {
  const root = mkdtempSync(join(tmpdir(), "champion-reconciler-"));
  roots.push(root);
  mkdirSync(join(root, "m"));
  writeFileSync(join(root, "m", "spec.json"), JSON.stringify(spec));
  const add = (version: string, featureSpecHash = specHash(spec)) => {
    mkdirSync(join(root, "m", version));
    writeFileSync(
      join(root, "m", version, "card.json"),
      JSON.stringify({ model: "m", version, feature_spec_hash: featureSpecHash }),
    );
    writeFileSync(join(root, "m", version, "model.onnx"), "");
  };
  return { repo: new ModelRepository(root), add };
}

/** A reconciler over fake workers (`ready` says which versions they have loaded) and a log that keeps its errors. */
function reconciler(ready: Set<string>) {
  const { repo, add } = repository();
  add("1");
  const champions = new ChampionTable();
  const errors: string[] = [];
  const log = {
    info: () => {},
    warn: () => {},
    error: (_o: unknown, msg: string) => errors.push(msg),
  } as unknown as Logger;
  let reconciled = 0;
  const r = new ChampionReconciler({
    champions,
    repo,
    cards: new CardCache(repo),
    workers: { ready: async (_m, v) => ready.has(v) },
    log,
    onReconciled: () => reconciled++,
  });
  const policy = (v: string) => ({ model: "m", championVersion: v, updatedBy: "test" }) as ServingPolicy;
  return { r, champions, errors, add, policy, reconciled: () => reconciled };
}

test("a new champion is adopted once the workers have it ready; until then the old one serves", async () => {
  const ready = new Set(["1"]);
  const { r, champions, policy, add, reconciled } = reconciler(ready);
  r.follow(policy("1"));
  await settle();
  assert.equal(champions.champion("m"), "1");
  assert.ok(reconciled() >= 1, "health is updated after a reconcile");
  add("2");
  r.follow(policy("2"));
  await settle();
  assert.equal(champions.champion("m"), "1", "version 2 is not ready on the workers");
  ready.add("2");
  await r.reconcile();
  assert.equal(champions.champion("m"), "2");
});

test("the skew guard: a version trained with another feature spec is never adopted, and logged once", async () => {
  const { r, champions, policy, add, errors } = reconciler(new Set(["1", "2"]));
  add("2", "sha256:another-spec");
  r.follow(policy("2"));
  await settle();
  for (let i = 0; i < 3; i++) await r.reconcile();
  assert.equal(champions.champion("m"), undefined);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /trained with feature spec sha256:another-spec/);
});

test("a version missing from the repository is not adopted; it is once it appears there", async () => {
  const { r, champions, policy, add, errors } = reconciler(new Set(["1", "3"]));
  r.follow(policy("3"));
  await settle();
  assert.equal(champions.champion("m"), undefined);
  assert.match(errors[0]!, /not in the model repository/);
  add("3");
  await r.reconcile();
  assert.equal(champions.champion("m"), "3", "the card cache read the new version");
});

test("a champion that cannot serve while the router has none: a stand-in serves, logged once; the fixed policy replaces it", async () => {
  const ready = new Set(["1"]);
  const { repo, add } = repository();
  add("1");
  const champions = new ChampionTable();
  const errors: string[] = [];
  const log = {
    info: () => {},
    warn: () => {},
    error: (_o: unknown, m: string) => errors.push(m),
  } as unknown as Logger;
  const r = new ChampionReconciler({
    ...{ champions, repo, cards: new CardCache(repo), log, onReconciled: () => {} },
    workers: { ready: async (_m, v) => ready.has(v) },
    standInVersion: () => "1",
  });
  r.follow({ model: "m", championVersion: "9", updatedBy: "test" } as ServingPolicy);
  await settle();
  for (let i = 0; i < 3; i++) await r.reconcile();
  assert.equal(champions.champion("m"), "1");
  assert.match(champions.standInFor("m")!, /names version 9, which cannot serve: it is not in the model repository/);
  assert.equal(
    errors.filter((e) => /not in the model repository/.test(e)).length,
    2,
    "the problem, and the stand-in: once each",
  );
  add("9");
  ready.add("9");
  await r.reconcile();
  assert.equal(champions.champion("m"), "9");
  assert.equal(champions.standInFor("m"), undefined);
});

test("a champion not ready on any worker: a stand-in only after the grace period", async () => {
  const { repo, add } = repository();
  add("1");
  add("2");
  const champions = new ChampionTable();
  let now = 0;
  const r = new ChampionReconciler({
    ...{ champions, repo, cards: new CardCache(repo), onReconciled: () => {} },
    log: { info: () => {}, warn: () => {}, error: () => {} } as unknown as Logger,
    workers: { ready: async (_m, v) => v === "1" },
    standInVersion: () => "1",
    standInAfterMs: 10_000,
    now: () => now,
  });
  r.follow({ model: "m", championVersion: "2", updatedBy: "test" } as ServingPolicy);
  await settle();
  await r.reconcile();
  now = 9_000;
  await r.reconcile();
  assert.equal(champions.champion("m"), undefined, "still within the grace period: workers may be loading it");
  now = 10_000;
  await r.reconcile();
  assert.equal(champions.champion("m"), "1");
  assert.match(champions.standInFor("m")!, /it is not ready on any model worker/);
});
