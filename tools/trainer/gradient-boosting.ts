import type { Tree, TreeEnsemble } from "../../services/lib/model/index.js";
import type { Matrix } from "./matrix.js";
import { createRng } from "./rng.js";

export interface GradientBoostingOptions {
  /** Boosting rounds (trees). Default 200. */
  rounds?: number;
  /** Shrinkage applied to every leaf value. Default 0.05. */
  learningRate?: number;
  /** Largest depth of a tree. Default 4. */
  maxDepth?: number;
  /** L2 penalty λ on leaf values (leaf = −G / (H + λ)). Default 1. */
  l2?: number;
  /** Smallest hessian sum a child may have. Default 1. */
  minChildWeight?: number;
  /** Smallest loss reduction a split must bring. Default 0. */
  minSplitGain?: number;
  /** Candidate thresholds per feature: quantiles of its training values. Default 64. */
  maxBins?: number;
  /** Share of rows each tree is grown on, drawn with `seed`. Default 1 (all rows). */
  rowSubsample?: number;
  /** Seed of the row subsampling. Default 1. */
  seed?: number;
}

/**
 * Fits gradient-boosted regression trees on the logistic loss (the log-odds of y = 1), histogram-based like
 * LightGBM and XGBoost's `hist`: every feature is cut once into at most `maxBins` bins at quantiles of its
 * float32 training values, and a split "x <= t" is searched only at those cuts, from per-node histograms of
 * gradients and hessians. Trees grow level by level to `maxDepth`; leaves take the Newton step −G / (H + λ)
 * times the learning rate, rounded to float32, so the ensemble computes exactly what its ONNX export does.
 * Deterministic: the same data, options and seed give the same trees. Pure: no I/O.
 *
 * @example
 * const model = fitGradientBoosting(x, y, { rounds: 300, learningRate: 0.05, maxDepth: 4, seed: 7 });
 * const p = sigmoid(predictRaw(model, row));
 */
export function fitGradientBoosting(
  x: Matrix & { data: Float32Array },
  y: ArrayLike<number>,
  options: GradientBoostingOptions = {},
): TreeEnsemble {
  const {
    rounds = 200,
    learningRate = 0.05,
    maxDepth = 4,
    l2 = 1,
    minChildWeight = 1,
    minSplitGain = 0,
    maxBins = 64,
    rowSubsample = 1,
    seed = 1,
  } = options;
  const { rows: n, cols: d, data } = x;
  if (y.length !== n) throw new RangeError(`${n} rows but ${y.length} labels`);
  if (maxBins < 2 || maxBins > 256) throw new RangeError("maxBins must be in [2, 256]");

  const cuts = Array.from({ length: d }, (_, j) => binCuts(data, n, d, j, maxBins));
  const bins = new Uint8Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) bins[i * d + j] = binOf(cuts[j]!, data[i * d + j]!);

  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i]!;
  const rate = Math.min(Math.max(positives / n, 1e-6), 1 - 1e-6);
  const baseScore = Math.fround(Math.log(rate / (1 - rate)));
  const raw = new Float64Array(n).fill(baseScore);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const rng = createRng(seed);
  const trees: Tree[] = [];

  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-raw[i]!));
      grad[i] = p - y[i]!;
      hess[i] = Math.max(p * (1 - p), 1e-16);
    }
    let sample: Int32Array;
    if (rowSubsample < 1) {
      const picked: number[] = [];
      for (let i = 0; i < n; i++) if (rng.next() < rowSubsample) picked.push(i);
      sample = Int32Array.from(picked);
    } else {
      sample = Int32Array.from({ length: n }, (_, i) => i);
    }
    const tree = growTree(sample, bins, d, cuts, grad, hess, {
      maxDepth,
      l2,
      minChildWeight,
      minSplitGain,
      learningRate,
    });
    trees.push(tree);
    // Update every row's raw output (rows left out of the sample too), walking the tree on bins.
    for (let i = 0; i < n; i++) {
      let node = 0;
      while (tree.left[node]! >= 0) {
        const j = tree.feature[node]!;
        node = data[i * d + j]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
      }
      raw[i]! += tree.value[node]!;
    }
  }
  return { baseScore, trees };
}

/** Cut points of one feature: up to maxBins − 1 distinct float32 training values at quantiles. */
function binCuts(data: Float32Array, n: number, d: number, j: number, maxBins: number): Float32Array {
  const col = new Float32Array(n);
  for (let i = 0; i < n; i++) col[i] = data[i * d + j]!;
  col.sort();
  const distinct: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || col[i] !== col[i - 1]) distinct.push(col[i]!);
  if (distinct.length <= maxBins) return Float32Array.from(distinct.slice(0, -1));
  const cuts: number[] = [];
  for (let b = 1; b < maxBins; b++) {
    const v = col[Math.floor((b * n) / maxBins)]!;
    // A cut must leave something on its right: never the largest value.
    if (v < col[n - 1]! && (cuts.length === 0 || v > cuts[cuts.length - 1]!)) cuts.push(v);
  }
  return Float32Array.from(cuts);
}

/** The bin of a value: the index of the first cut >= v (cuts.length when above every cut). */
function binOf(cuts: Float32Array, v: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cuts[mid]! >= v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface GrowOptions {
  maxDepth: number;
  l2: number;
  minChildWeight: number;
  minSplitGain: number;
  learningRate: number;
}

function growTree(
  sample: Int32Array,
  bins: Uint8Array,
  d: number,
  cuts: Float32Array[],
  grad: Float64Array,
  hess: Float64Array,
  o: GrowOptions,
): Tree {
  const tree: Tree = { feature: [], threshold: [], left: [], right: [], value: [], cover: [] };
  const addNode = (cover: number) => {
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.value.push(0);
    tree.cover.push(cover);
    return tree.feature.length - 1;
  };
  const leafValue = (g: number, h: number) => Math.fround((-g / (h + o.l2)) * o.learningRate);
  const score = (g: number, h: number) => (g * g) / (h + o.l2);

  let level: { node: number; rows: Int32Array }[] = [{ node: addNode(sample.length), rows: sample }];
  const histG = new Float64Array(d * 256);
  const histH = new Float64Array(d * 256);
  for (let depth = 0; level.length > 0; depth++) {
    const next: { node: number; rows: Int32Array }[] = [];
    for (const { node, rows } of level) {
      let G = 0;
      let H = 0;
      for (const i of rows) {
        G += grad[i]!;
        H += hess[i]!;
      }
      let best = { gain: o.minSplitGain, feature: -1, bin: -1 };
      if (depth < o.maxDepth && H >= 2 * o.minChildWeight) {
        histG.fill(0);
        histH.fill(0);
        for (const i of rows) {
          const g = grad[i]!;
          const h = hess[i]!;
          const base = i * d;
          for (let j = 0; j < d; j++) {
            const k = j * 256 + bins[base + j]!;
            histG[k]! += g;
            histH[k]! += h;
          }
        }
        const parent = score(G, H);
        for (let j = 0; j < d; j++) {
          let gl = 0;
          let hl = 0;
          const nCuts = cuts[j]!.length;
          for (let b = 0; b < nCuts; b++) {
            gl += histG[j * 256 + b]!;
            hl += histH[j * 256 + b]!;
            const hr = H - hl;
            if (hl < o.minChildWeight || hr < o.minChildWeight) continue;
            const gain = score(gl, hl) + score(G - gl, hr) - parent;
            if (gain > best.gain) best = { gain, feature: j, bin: b };
          }
        }
      }
      if (best.feature < 0) {
        tree.value[node] = leafValue(G, H);
        continue;
      }
      const j = best.feature;
      const leftRows: number[] = [];
      const rightRows: number[] = [];
      for (const i of rows) (bins[i * d + j]! <= best.bin ? leftRows : rightRows).push(i);
      tree.feature[node] = j;
      tree.threshold[node] = cuts[j]![best.bin]!;
      const l = addNode(leftRows.length);
      const r = addNode(rightRows.length);
      tree.left[node] = l;
      tree.right[node] = r;
      next.push({ node: l, rows: Int32Array.from(leftRows) }, { node: r, rows: Int32Array.from(rightRows) });
    }
    level = next;
  }
  return tree;
}

/** One line that says how a version's trees were grown, for its card's description. */
export const describeTrees = (o: Required<GradientBoostingOptions>) =>
  `${o.rounds} trees of depth ${o.maxDepth}, learning rate ${o.learningRate}, L2 ${o.l2}, ` +
  `${o.maxBins} bins, ${o.rowSubsample * 100}% of rows per tree (seed ${o.seed})`;
