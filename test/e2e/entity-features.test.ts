import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import {
  parseSnapshot,
  serializeSnapshot,
  snapshotFileName,
  type EntityValues,
  buildVector,
  seedChampion,
  ModelRepository,
} from "../../services/lib/model/index.js";
import { creditDefaultEntityId } from "../../tools/trainer/credit-default-entities.js";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const spec = repo.spec(MODEL);
const SEED = seedChampion(repo.versions(MODEL).map((v) => repo.card(MODEL, v)))!;
const ENTITY_FEATURES = spec.features.filter((f) => f.source.kind === "entity").map((f) => f.name);
const shippedDir = join(PROJECT_ROOT, "models", MODEL, "entities");
const shippedFile = readdirSync(shippedDir)
  .filter((f) => f.startsWith("snapshot-"))
  .sort()
  .pop()!;
const shipped = parseSnapshot(readFileSync(join(shippedDir, shippedFile), "utf8"), { source: shippedFile, spec });
/** Data rows 0 … 29 as request inputs; row i is entity C0000i. */
const rows = creditRows(30);

let session: ort.InferenceSession;
/** The champion's score for a vector built here, in process: what the mesh must answer. */
async function expectedScore(
  inputs: Record<string, number>,
  entity: EntityValues | undefined,
): Promise<{ score: number; imputed: string[] }> {
  session ??= await ort.InferenceSession.create(repo.onnxPath(MODEL, SEED));
  const { vector, imputed } = buildVector(spec, inputs, entity);
  const out = await session.run({ features: new ort.Tensor("float32", vector, [1, vector.length]) });
  return { score: (out["probability"]!.data as Float32Array)[0]!, imputed };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function auditRecords(fx: MeshFixture): Record<string, unknown>[] {
  const path = fx.mesh.env["MONITOR_AUDIT_LOG"]!;
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function featureLog(fx: MeshFixture): Record<string, unknown>[] {
  return readFileSync(join(fx.mesh.logDir, "feature.log"), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("entity features end to end: lookup by entity_id, imputation, a new snapshot without restart", () => {
  let fx: MeshFixture;
  let snapshotRoot: string;
  let dir: string;

  before(async () => {
    // A copy of the shipped snapshot in a folder the test may write to.
    snapshotRoot = mkdtempSync(join(tmpdir(), "scoremesh-entities-"));
    dir = join(snapshotRoot, MODEL);
    mkdirSync(dir);
    cpSync(join(shippedDir, shippedFile), join(dir, shippedFile));
    fx = await startMeshFixture({ FEATURE_ENTITY_SNAPSHOT_DIR: snapshotRoot, FEATURE_ENTITY_POLL_MS: "200" });
  });
  after(async () => {
    await fx?.close();
    await session?.release();
    if (snapshotRoot) rmSync(snapshotRoot, { recursive: true, force: true });
  });

  test("the feature service loads the shipped snapshot at start and logs its freshness", () => {
    const loaded = featureLog(fx).find((l) => l["msg"] === "entity snapshot loaded");
    assert.ok(loaded, "an 'entity snapshot loaded' line");
    assert.equal(loaded["file"], shippedFile);
    assert.equal(loaded["entities"], shipped.entities.size);
    assert.equal(loaded["created_at"], shipped.header.created_at);
    assert.ok(Number(loaded["age_s"]) > 0);
    assert.match(String(loaded["loaded_at"]), /^\d{4}-\d\d-\d\dT/);
    const health = featureLog(fx).find((l) => l["health"] === "SERVING");
    assert.match(
      String(health?.["why"]),
      new RegExp(`entity snapshots: ${MODEL} ${shippedFile} \\(${shipped.entities.size} entities`),
    );
  });

  test("a known entity: no imputation, the score of the vector built with its snapshot features", async () => {
    for (let i = 0; i < 10; i++) {
      const id = creditDefaultEntityId(i);
      const entity = shipped.entities.get(id);
      assert.ok(entity, `${id} is in the shipped snapshot`);
      const want = await expectedScore(rows[i]!, entity);
      const res = await fx.scoring.score(
        { model: MODEL, requestId: `known-${i}`, entityId: id, inputs: rows[i]! },
        { timeoutMs: 5000 },
      );
      assert.deepEqual(res.imputedFeatures, [], `${id}: nothing imputed`);
      assert.deepEqual(want.imputed, []);
      assert.ok(Math.abs(res.score - want.score) < 1e-6, `${id}: served ${res.score}, in-process ${want.score}`);
    }
    // The entity features matter: the same inputs without the entity score differently for some row.
    const differs = await Promise.all(
      rows.slice(0, 10).map(async (r, i) => {
        const a = await expectedScore(r, shipped.entities.get(creditDefaultEntityId(i)));
        const b = await expectedScore(r, undefined);
        return a.score !== b.score;
      }),
    );
    assert.ok(differs.some(Boolean));
  });

  test("an unknown entity or none: the entity features are imputed, named in the response and in the audit log", async () => {
    const cases = [
      { requestId: "unknown-entity", entityId: "e-1" },
      { requestId: "no-entity", entityId: "" },
    ];
    for (const c of cases) {
      const want = await expectedScore(rows[3]!, undefined);
      const res = await fx.scoring.score({ model: MODEL, ...c, inputs: rows[3]! }, { timeoutMs: 5000 });
      assert.deepEqual(res.imputedFeatures, ENTITY_FEATURES, `${c.requestId}: imputed`);
      assert.deepEqual(want.imputed, ENTITY_FEATURES);
      assert.ok(
        Math.abs(res.score - want.score) < 1e-6,
        `${c.requestId}: served ${res.score}, in-process ${want.score}`,
      );
    }
    await until("the monitor wrote the records", () => {
      const ids = new Set(auditRecords(fx).map((r) => r["requestId"]));
      return ["unknown-entity", "no-entity", "known-0"].every((id) => ids.has(id));
    });
    const records = new Map(auditRecords(fx).map((r) => [r["requestId"], r]));
    assert.deepEqual(records.get("unknown-entity")?.["imputed"], ENTITY_FEATURES);
    assert.deepEqual(records.get("no-entity")?.["imputed"], ENTITY_FEATURES);
    assert.equal(records.get("known-0")?.["imputed"], undefined, "a known entity's record lists nothing imputed");
  });

  test("a new snapshot file is picked up without a restart; a broken one is logged and ignored", async () => {
    // Entity C00005 changes, and a new entity appears whose features are C00005's old ones.
    const id = creditDefaultEntityId(5);
    const old = shipped.entities.get(id)!;
    const changed: EntityValues = { ...old, missed_payments_5m: 5, avg_payment_ratio_5m: 0, avg_utilization_6m: 2.5 };
    const createdAt = new Date().toISOString();
    const entities = new Map(shipped.entities);
    entities.set(id, changed);
    entities.set("NEW-CLIENT", old);
    const name = snapshotFileName(createdAt);
    writeFileSync(
      join(dir, name + ".tmp"),
      serializeSnapshot({ model: MODEL, created_at: createdAt, columns: shipped.header.columns }, entities),
    );
    const before = await fx.scoring.score({ model: MODEL, entityId: id, inputs: rows[5]! }, { timeoutMs: 5000 });
    assert.ok(Math.abs(before.score - (await expectedScore(rows[5]!, old)).score) < 1e-6, "a .tmp file is not read");
    renameSync(join(dir, name + ".tmp"), join(dir, name));

    const want = await expectedScore(rows[5]!, changed);
    assert.ok(Math.abs(want.score - before.score) > 1e-4, "the change moves the score");
    await until("the new snapshot serves", async () => {
      const res = await fx.scoring.score({ model: MODEL, entityId: id, inputs: rows[5]! }, { timeoutMs: 5000 });
      return Math.abs(res.score - want.score) < 1e-6;
    });
    const fresh = await fx.scoring.score(
      { model: MODEL, entityId: "NEW-CLIENT", inputs: rows[5]! },
      { timeoutMs: 5000 },
    );
    assert.deepEqual(fresh.imputedFeatures, [], "an entity only the new snapshot has is known");
    assert.ok(Math.abs(fresh.score - before.score) < 1e-6);
    const loaded = featureLog(fx)
      .filter((l) => l["msg"] === "entity snapshot loaded")
      .pop()!;
    assert.equal(loaded["file"], name);
    assert.equal(loaded["previous"], shippedFile);
    assert.equal(loaded["entities"], shipped.entities.size + 1);
    assert.ok(Number(loaded["age_s"]) < 60, `age ${String(loaded["age_s"])} s`);

    // A newer file that is broken (cut short): refused, logged, and the snapshot in use stays.
    const broken = snapshotFileName(new Date(Date.now() + 60_000).toISOString());
    const text = serializeSnapshot({ model: MODEL, created_at: createdAt, columns: shipped.header.columns }, entities);
    writeFileSync(join(dir, broken), text.slice(0, text.length / 2));
    await until("the broken file is refused", () =>
      featureLog(fx).some(
        (l) => l["msg"] === "entity snapshot refused; keeping the one in use" && l["file"] === broken,
      ),
    );
    const refused = featureLog(fx).find((l) => l["file"] === broken)!;
    assert.equal(refused["keeping"], name);
    assert.equal(refused["level"], "error");
    const still = await fx.scoring.score({ model: MODEL, entityId: id, inputs: rows[5]! }, { timeoutMs: 5000 });
    assert.ok(Math.abs(still.score - want.score) < 1e-6, "the good snapshot keeps serving");
    assert.deepEqual(still.imputedFeatures, []);
  });
});
