import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ModelRepository } from "../../../../services/lib/model/index.js";
import {
  binOf,
  countInto,
  driftReading,
  ksCritical,
  ksDistance,
  psi,
  rateRatio,
  SlidingCounts,
  twoProportionZ,
} from "../../../../services/lib/stats/index.js";
import { PROJECT_ROOT } from "../../../../deploy/local/mesh.js";
import { creditRows } from "../../../support/credit-data.js";

test("binOf bins as the trainer's profiles do: below edges[k], at or above edges[k-1], the last bin open", () => {
  const edges = [2, 3];
  assert.deepEqual(
    [1, 1.99, 2, 2.5, 3, 99].map((v) => binOf(edges, v)),
    [0, 0, 1, 1, 2, 2],
  );
  assert.equal(binOf([], 5), 0);
  assert.deepEqual(countInto(edges, [1, 2, 2, 3]), [1, 2, 1]);
});

test("PSI: 0 for the same shares, the textbook value for a moved distribution, finite for empty bins", () => {
  assert.equal(psi([100, 200, 300], [10, 20, 30]), 0);
  const moved = psi([500, 500], [900, 100]);
  assert.ok(Math.abs(moved - (0.4 * Math.log(0.9 / 0.5) + -0.4 * Math.log(0.1 / 0.5))) < 1e-12, `${moved}`);
  assert.ok(Number.isFinite(psi([100, 0], [50, 50])) && psi([100, 0], [50, 50]) > 1);
  assert.throws(() => psi([1, 2], [1]), /bins differ/);
});

test("KS over bins: the largest gap of the cumulative shares; the critical value shrinks with the samples", () => {
  assert.equal(ksDistance([50, 50], [50, 50]), 0);
  assert.ok(Math.abs(ksDistance([50, 50], [100, 0]) - 0.5) < 1e-12);
  assert.ok(ksCritical(5000, 100) > ksCritical(5000, 1000));
  assert.equal(ksCritical(0, 10), Infinity);
});

test("a sliding window keeps the last N observations' counts", () => {
  const w = new SlidingCounts(3, 4);
  for (const b of [0, 0, 1, 2]) w.add(b);
  assert.deepEqual(w.counts(), [2, 1, 1]);
  w.add(2);
  w.add(2);
  assert.deepEqual(w.counts(), [0, 1, 3]);
  assert.equal(w.size, 4);
  assert.throws(() => new SlidingCounts(3, 0), /capacity/);
});

/** The reference profile of credit-default version 3 and a window of live rows over one input's bins. */
function agePsi(rows: Record<string, number>[], feature = "AGE") {
  const card = new ModelRepository(join(PROJECT_ROOT, "models")).card("credit-default", "3");
  const ref = card.profile!.inputs[feature]!;
  return driftReading(
    ref.counts,
    countInto(
      ref.edges,
      rows.map((r) => r[feature]!),
    ),
  );
}

test("real credit rows drawn like the training data do not drift; young applicants only, or the delinquent, do", () => {
  const rows = creditRows(20_000);
  const like = agePsi(rows.slice(10_000, 12_000));
  assert.equal(like.level, "ok", `PSI ${like.psi}`);
  const young = agePsi(rows.filter((r) => r["AGE"]! < 27).slice(0, 1000));
  assert.equal(young.level, "alert", `PSI ${young.psi}`);
  assert.ok(young.ksSignificant);
  const late = agePsi(rows.filter((r) => r["PAY_0"]! >= 2).slice(0, 1000), "PAY_0");
  assert.equal(late.level, "alert", `PSI ${late.psi}`);
  const small = agePsi(rows.filter((r) => r["AGE"]! < 27).slice(0, 100));
  assert.equal(small.level, "insufficient", "a window under the minimum sample never alerts");
});

test("rate ratio (four-fifths): waits for every group's sample, then lowest over highest; z for two arms", () => {
  const groups = [
    { group: "a", total: 1000, hits: 600 },
    { group: "b", total: 1000, hits: 420 },
    { group: "c", total: 50, hits: 10 },
  ];
  assert.deepEqual(rateRatio(groups, 200).waiting, ["c"]);
  assert.equal(rateRatio(groups, 200).ratio, undefined);
  const r = rateRatio(groups.slice(0, 2), 200);
  assert.ok(Math.abs(r.ratio! - 0.7) < 1e-12);
  assert.equal(r.lowest, "b");
  assert.ok(twoProportionZ({ total: 1000, hits: 600 }, { total: 1000, hits: 420 }) < -2.58);
  assert.ok(Math.abs(twoProportionZ({ total: 1000, hits: 500 }, { total: 1000, hits: 510 })) < 2.58);
});
