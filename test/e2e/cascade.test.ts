import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { buildVector, decide, ModelRepository } from "../../services/lib/model/index.js";
import { creditRows } from "../support/credit-data.js";
import { load, loadSummary, sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";
const HEAVY = "3"; // the seed champion
const LIGHT = "5";
const BAND = { low: 0.2, high: 0.45 };
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const rows = creditRows(400, 1000);

describe("light → heavy cascade by confidence", () => {
  let fx: MeshFixture;
  let lightScores: Float32Array;

  before(async () => {
    fx = await startMeshFixture();
    // The light model's own scores of the rows, from its ONNX file: which rows must go on to the heavy model.
    const spec = repo.spec(MODEL);
    const vectors = rows.map((r) => buildVector(spec, r).vector);
    const cols = vectors[0]!.length;
    const matrix = new Float32Array(rows.length * cols);
    vectors.forEach((v, i) => matrix.set(v, i * cols));
    const session = await ort.InferenceSession.create(repo.onnxPath(MODEL, LIGHT));
    const out = await session.run({ features: new ort.Tensor("float32", matrix, [rows.length, cols]) });
    lightScores = out["probability"]!.data as Float32Array;
    await session.release();
  });
  after(async () => {
    await fx?.close();
  });

  test("the light model decides the rows it is sure of; the heavy one the band; switched on under load, nothing fails", async () => {
    const l = load(fx, { callers: 4 });
    await sleep(300);
    const set = await fx.meshctl("cascade", MODEL, LIGHT, "--band", `${BAND.low},${BAND.high}`, "--json");
    assert.equal(set.code, 0, set.stderr);
    const p = JSON.parse(set.stdout) as { cascade: { lightVersion: string; bandLow: number; bandHigh: number } };
    assert.deepEqual(p.cascade, { lightVersion: LIGHT, bandLow: BAND.low, bandHigh: BAND.high });
    await waitFor("the router to follow the cascade", async () => (await scoreAll(rows.slice(0, 20))).includes(LIGHT));
    const during = await l.stop();
    console.log(`# switching the cascade on under load: ${loadSummary(during)}`);
    assert.deepEqual(during.failed, [], "no call failed while the cascade was switched on");

    const answers = await inParallel(rows, 8, (inputs) => fx.scoring.score({ model: MODEL, inputs }));
    let heavy = 0;
    answers.forEach((a, i) => {
      const s = lightScores[i]!;
      const uncertain = s >= BAND.low && s < BAND.high;
      heavy += uncertain ? 1 : 0;
      assert.equal(a.modelVersion, uncertain ? HEAVY : LIGHT, `row ${i}: light score ${s}`);
      assert.deepEqual([a.route, a.degraded], [Route.PRIMARY, false], `row ${i}`);
      if (!uncertain) assert.ok(Math.abs(a.score - s) < 1e-6, `row ${i}: the light model's score`);
      assert.equal(
        a.decision,
        decide(a.score, repo.card(MODEL, a.modelVersion).thresholds),
        `row ${i}: its card's thresholds`,
      );
    });
    console.log(`# cascade [${BAND.low}, ${BAND.high}): ${heavy} of ${rows.length} rows reached the heavy model`);
    assert.ok(heavy > 0 && heavy < rows.length, "both models decided some rows");
    const shown = await fx.meshctl("policy", MODEL);
    assert.match(
      shown.stdout,
      new RegExp(`light ${LIGHT} first \\(scores in \\[${BAND.low}, ${BAND.high}\\) go on\\)`),
    );
  });

  test("a cascade to the champion itself or to a version no worker has is refused with the reason", async () => {
    const self = await fx.meshctl("cascade", MODEL, HEAVY, "--band", "0.2,0.4");
    assert.equal(self.code, 1);
    assert.match(self.stderr, /version 3 is the champion of credit-default/);
    const missing = await fx.meshctl("cascade", MODEL, "9", "--band", "0.2,0.4");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /9/);
    const bad = await fx.meshctl("cascade", MODEL, LIGHT, "--band", "0.5,0.4");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--band must be LOW,HIGH with 0 <= LOW < HIGH <= 1, got "0.5,0.4"/);
  });

  test("--off: the champion scores every row again", async () => {
    const off = await fx.meshctl("cascade", MODEL, "--off");
    assert.equal(off.code, 0, off.stderr);
    await waitFor("the router to drop the cascade", async () =>
      (await scoreAll(rows.slice(0, 40))).every((v) => v === HEAVY),
    );
  });

  const scoreAll = async (some: Record<string, number>[]) =>
    (await Promise.all(some.map((inputs) => fx.scoring.score({ model: MODEL, inputs })))).map((a) => a.modelVersion);
});

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function inParallel<T, R>(items: T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}
