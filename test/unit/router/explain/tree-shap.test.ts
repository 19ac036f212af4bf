import { test } from "node:test";
import assert from "node:assert/strict";
import { type Tree, type TreeEnsemble, predictRaw } from "../../../../services/lib/model/index.js";
import { LeafTreeShap } from "../../../../services/router/explain/leaf-tree-shap.js";
import { TreeShap, expectedValue } from "../../../../services/router/explain/tree-shap.js";
import { linearExplainer, topReasons, wantsReasons } from "../../../../services/router/explain/reasons.js";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { createRng, type Rng } from "../../../../tools/trainer/rng.js";

/** A random tree of the given depth over `d` features, features repeating along paths, random covers. */
function randomTree(rng: Rng, d: number, depth: number): Tree {
  const t: Tree = { feature: [], threshold: [], left: [], right: [], value: [], cover: [] };
  const grow = (level: number, cover: number): number => {
    const k = t.feature.length;
    t.feature.push(-1);
    t.threshold.push(0);
    t.left.push(-1);
    t.right.push(-1);
    t.value.push(0);
    t.cover.push(cover);
    if (level === depth || cover < 2) {
      t.value[k] = Math.fround(rng.normal());
      return k;
    }
    t.feature[k] = rng.int(d);
    t.threshold[k] = Math.fround(rng.normal() * 0.5);
    const leftCover = 1 + rng.int(cover - 1);
    t.left[k] = grow(level + 1, leftCover);
    t.right[k] = grow(level + 1, cover - leftCover);
    return k;
  };
  grow(0, 1000);
  return t;
}

/** E[f(x) | x_S] with the path-dependent approximation TreeSHAP uses (Lundberg et al., Algorithm 1). */
function conditional(e: TreeEnsemble, x: number[], inS: boolean[]): number {
  let sum = e.baseScore;
  for (const t of e.trees) {
    const g = (k: number): number => {
      if (t.left[k]! < 0) return t.value[k]!;
      const f = t.feature[k]!;
      if (inS[f]) return x[f]! <= t.threshold[k]! ? g(t.left[k]!) : g(t.right[k]!);
      return (g(t.left[k]!) * t.cover[t.left[k]!]! + g(t.right[k]!) * t.cover[t.right[k]!]!) / t.cover[k]!;
    };
    sum += g(0);
  }
  return sum;
}

/** Shapley values by enumerating every coalition. */
function bruteForceShapley(e: TreeEnsemble, x: number[], d: number): number[] {
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const phi = new Array<number>(d).fill(0);
  for (let mask = 0; mask < 1 << d; mask++) {
    const inS = Array.from({ length: d }, (_, j) => (mask & (1 << j)) !== 0);
    const size = inS.filter(Boolean).length;
    const base = conditional(e, x, inS);
    for (let j = 0; j < d; j++) {
      if (inS[j]) continue;
      const withJ = [...inS];
      withJ[j] = true;
      phi[j]! += ((fact(size) * fact(d - size - 1)) / fact(d)) * (conditional(e, x, withJ) - base);
    }
  }
  return phi;
}

test("TreeSHAP equals Shapley values by brute force, and they sum with the expected value to the raw output", () => {
  const rng = createRng(11);
  const d = 5;
  for (let trial = 0; trial < 20; trial++) {
    const ensemble: TreeEnsemble = {
      baseScore: Math.fround(rng.normal()),
      trees: Array.from({ length: 3 }, () => randomTree(rng, d, 1 + rng.int(5))),
    };
    const shap = new TreeShap(ensemble, d);
    for (let row = 0; row < 5; row++) {
      const x = Array.from({ length: d }, () => Math.fround(rng.normal() * 0.7));
      const phi = shap.values(x);
      const expected = bruteForceShapley(ensemble, x, d);
      for (let j = 0; j < d; j++)
        assert.ok(Math.abs(phi[j]! - expected[j]!) < 1e-9, `trial ${trial} feature ${j}: ${phi[j]} vs ${expected[j]}`);
      const total = shap.expectedValue + phi.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - predictRaw(ensemble, x)) < 1e-9);
    }
    assert.ok(
      Math.abs(
        expectedValue(ensemble) -
          conditional(ensemble, new Array<number>(d).fill(0), new Array<boolean>(d).fill(false)),
      ) < 1e-9,
    );
  }
});

test("the precomputed per-leaf TreeSHAP gives the same values as TreeSHAP's recursion, features repeating along paths", () => {
  const rng = createRng(29);
  const d = 6;
  for (let trial = 0; trial < 30; trial++) {
    const ensemble: TreeEnsemble = {
      baseScore: Math.fround(rng.normal()),
      trees: Array.from({ length: 4 }, () => randomTree(rng, d, 1 + rng.int(6))),
    };
    const fast = LeafTreeShap.create(ensemble, d);
    assert.ok(fast instanceof LeafTreeShap);
    const slow = new TreeShap(ensemble, d);
    assert.equal(fast.expectedValue, slow.expectedValue);
    for (let row = 0; row < 10; row++) {
      // Some values sit exactly on thresholds, and some are NaN (goes right, as in ONNX Runtime).
      const x = Array.from({ length: d }, (_, j) =>
        row === 9 && j === 0 ? NaN : row === 8 ? ensemble.trees[0]!.threshold[0]! : Math.fround(rng.normal() * 0.7),
      );
      const a = fast.values(x);
      const b = slow.values(x);
      for (let j = 0; j < d; j++)
        assert.ok(Math.abs(a[j]! - b[j]!) < 1e-9, `trial ${trial} row ${row} feature ${j}: ${a[j]} vs ${b[j]}`);
    }
  }
  const deep: TreeEnsemble = { baseScore: 0, trees: [randomTree(createRng(3), 12, 10)] };
  assert.ok(
    LeafTreeShap.create(deep, 12, 4) instanceof TreeShap,
    "paths with more unique features than the limit fall back to the recursion",
  );
});

test("linear contributions are measured from the mean row and sum with the base value to the log-odds", () => {
  const ex = linearExplainer({ intercept: -1, coefficients: [2, -3], means: [0.5, 1] });
  const { baseValue, contributions } = ex.explain([1.5, 2]);
  assert.equal(baseValue, -1 + 1 - 3);
  assert.deepEqual([...contributions], [2, -3]);
  assert.equal(baseValue + contributions[0]! + contributions[1]!, -1 + 2 * 1.5 - 3 * 2);
});

test("reasons are the positive contributions, largest first, at most four, with stable codes", () => {
  const r = topReasons(["a", "b", "c", "d", "e", "f"], [0.1, -2, 0.5, 0.5, 0.2, 0.3]);
  assert.deepEqual(
    r.map((x) => x.code),
    ["R-c", "R-d", "R-f", "R-e"],
  );
  assert.equal(r[0]!.contribution, 0.5);
  assert.deepEqual(topReasons(["a"], [-1]), []);
  assert.equal(wantsReasons(Decision.APPROVE, false), false);
  assert.equal(wantsReasons(Decision.APPROVE, true), true);
  assert.equal(wantsReasons(Decision.REVIEW, false), true);
  assert.equal(wantsReasons(Decision.DECLINE, false), true);
});
