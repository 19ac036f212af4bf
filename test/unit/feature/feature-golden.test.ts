import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import type { Client, HandlerContext } from "@connectrpc/connect";
import { ScoreRowsRequestSchema } from "../../../gen/scoremesh/feature/v1/feature_pb.js";
import type { RouteRequest, RouterService } from "../../../gen/scoremesh/router/v1/router_pb.js";
import { PROJECT_ROOT } from "../../../deploy/local/mesh.js";
import { parseSnapshot, specHash, ModelRepository, type FeatureSpec } from "../../../services/lib/model/index.js";
import { featureRoutes } from "../../../services/feature/routes.js";
import type { GoldenFile } from "../../../tools/trainer/golden.js";

const repo = new ModelRepository(join(PROJECT_ROOT, "models"));

for (const model of repo.models()) {
  test(`${model}: the feature service reproduces every golden vector written by training, bit for bit`, () =>
    checkGolden(model));
}

async function checkGolden(model: string): Promise<void> {
  const spec = repo.spec(model);
  const golden = JSON.parse(readFileSync(join(PROJECT_ROOT, "models", model, "golden.json"), "utf8")) as GoldenFile;
  assert.equal(golden.feature_spec_hash, specHash(spec), "golden.json belongs to another spec: run npm run train");
  assert.ok(golden.cases.length >= 40);

  let seen: RouteRequest | undefined;
  const router = {
    route: async (req: RouteRequest) => {
      seen = req;
      return { decisions: [] };
    },
  } as unknown as Client<typeof RouterService>;
  const entityFeatures = spec.features.filter((f) => f.source.kind === "entity").map((f) => f.name);
  const entities = entityFeatures.length > 0 ? shippedEntities(model, spec) : undefined;
  const routes = featureRoutes({
    specs: new Map([[model, { spec, hash: specHash(spec), ...(entities ? { entities } : {}) }]]),
    router,
    defaultTimeoutMs: 1000,
  });
  const req = create(ScoreRowsRequestSchema, {
    model,
    rows: golden.cases.map((c, i) => ({ requestId: `g-${i}`, entityId: c.entity_id ?? "", inputs: c.inputs })),
  });
  const ctx = { timeoutMs: () => undefined, signal: new AbortController().signal } as unknown as HandlerContext;
  await routes.scoreRows!(req, ctx);

  assert.equal(seen?.featureSpecHash, golden.feature_spec_hash);
  golden.cases.forEach((c, i) => {
    const row = seen!.rows[i]!;
    assert.deepEqual(row.features, c.vector, `case ${i}: vector`);
    assert.deepEqual(row.imputed, c.imputed, `case ${i}: imputed features`);
  });
  assert.ok(
    golden.cases.some((c) => c.imputed.length > 0),
    "the golden cases cover imputation",
  );
  if (entityFeatures.length === 0) return;
  assert.ok(
    golden.cases.some((c) => c.entity_id && c.imputed.length === 0),
    "the golden cases cover known entities",
  );
  assert.ok(
    golden.cases.some((c) => !c.entity_id && entityFeatures.every((f) => c.imputed.includes(f))),
    "the golden cases cover a request without an entity id",
  );
}

/** The shipped entity snapshot of a model, as the feature service loads it. */
function shippedEntities(model: string, spec: FeatureSpec) {
  const dir = join(PROJECT_ROOT, "models", model, "entities");
  const file = readdirSync(dir)
    .filter((f) => f.startsWith("snapshot-"))
    .sort()
    .pop()!;
  return parseSnapshot(readFileSync(join(dir, file), "utf8"), { source: file, spec }).entities;
}
