import type { Tree, TreeEnsemble } from "../../lib/model/index.js";

/**
 * Exact SHAP values of a tree ensemble for one row (path-dependent TreeSHAP, Lundberg et al. 2018, Algorithm 2),
 * with node covers as the background distribution. The values sum, with `expectedValue(ensemble)`, to the
 * ensemble's raw output for the row: Σ φ_j + E[f] = f(x). Cost O(trees · leaves · depth²), no allocation per
 * node: one scratch buffer per explainer.
 *
 * @example
 * const shap = new TreeShap(ensemble, 31);
 * const phi = shap.values(vector); // phi.length === 31
 */
export class TreeShap {
  readonly expectedValue: number;
  private readonly maxDepth: number;
  // The unique paths of every recursion level, one after another (struct of arrays).
  private readonly pFeature: Int32Array;
  private readonly pZero: Float64Array;
  private readonly pOne: Float64Array;
  private readonly pWeight: Float64Array;
  private phi!: Float64Array;
  private x!: ArrayLike<number>;
  private offset = 0;

  constructor(
    private readonly ensemble: TreeEnsemble,
    private readonly features: number,
  ) {
    this.expectedValue = expectedValue(ensemble);
    this.maxDepth = Math.max(0, ...ensemble.trees.map((t) => depthOf(t, 0)));
    const size = ((this.maxDepth + 3) * (this.maxDepth + 4)) / 2;
    this.pFeature = new Int32Array(size);
    this.pZero = new Float64Array(size);
    this.pOne = new Float64Array(size);
    this.pWeight = new Float64Array(size);
  }

  /** φ for the row at `offset` of `x`: one value per feature column. */
  values(x: ArrayLike<number>, offset = 0): Float64Array {
    this.phi = new Float64Array(this.features);
    this.x = x;
    this.offset = offset;
    for (const tree of this.ensemble.trees) this.recurse(tree, 0, 0, 0, 1, 1, -1);
    return this.phi;
  }

  private recurse(
    tree: Tree,
    node: number,
    parentStart: number,
    depth: number,
    zero: number,
    one: number,
    feature: number,
  ): void {
    const { pFeature, pZero, pOne, pWeight } = this;
    // This level's path starts after the parent's (which holds at most depth + 1 elements), as in shap's C++.
    const start = depth === 0 ? 0 : parentStart + depth + 1;
    // Paths are short (the tree's depth): a plain loop costs less than four copyWithin calls.
    for (let i = 0; i < depth; i++) {
      pFeature[start + i] = pFeature[parentStart + i]!;
      pZero[start + i] = pZero[parentStart + i]!;
      pOne[start + i] = pOne[parentStart + i]!;
      pWeight[start + i] = pWeight[parentStart + i]!;
    }
    this.extend(start, depth, zero, one, feature);

    if (tree.left[node]! < 0) {
      const v = tree.value[node]!;
      for (let i = 1; i <= depth; i++) {
        const w = this.unwoundSum(start, depth, i);
        this.phi[pFeature[start + i]!]! += w * (pOne[start + i]! - pZero[start + i]!) * v;
      }
      return;
    }
    const split = tree.feature[node]!;
    const goesLeft = this.x[this.offset + split]! <= tree.threshold[node]!;
    const hot = goesLeft ? tree.left[node]! : tree.right[node]!;
    const cold = goesLeft ? tree.right[node]! : tree.left[node]!;
    const cover = tree.cover[node]!;
    let incomingZero = 1;
    let incomingOne = 1;
    let d = depth;
    let k = 0;
    while (k <= d && pFeature[start + k] !== split) k++;
    if (k <= d) {
      incomingZero = pZero[start + k]!;
      incomingOne = pOne[start + k]!;
      this.unwind(start, d, k);
      d -= 1;
    }
    this.recurse(tree, hot, start, d + 1, (tree.cover[hot]! / cover) * incomingZero, incomingOne, split);
    this.recurse(tree, cold, start, d + 1, (tree.cover[cold]! / cover) * incomingZero, 0, split);
  }

  private extend(s: number, depth: number, zero: number, one: number, feature: number): void {
    const { pFeature, pZero, pOne, pWeight } = this;
    pFeature[s + depth] = feature;
    pZero[s + depth] = zero;
    pOne[s + depth] = one;
    pWeight[s + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i--) {
      pWeight[s + i + 1]! += (one * pWeight[s + i]! * (i + 1)) / (depth + 1);
      pWeight[s + i] = (zero * pWeight[s + i]! * (depth - i)) / (depth + 1);
    }
  }

  private unwind(s: number, depth: number, k: number): void {
    const { pFeature, pZero, pOne, pWeight } = this;
    const one = pOne[s + k]!;
    const zero = pZero[s + k]!;
    let next = pWeight[s + depth]!;
    for (let i = depth - 1; i >= 0; i--) {
      if (one !== 0) {
        const tmp = pWeight[s + i]!;
        pWeight[s + i] = (next * (depth + 1)) / ((i + 1) * one);
        next = tmp - (pWeight[s + i]! * zero * (depth - i)) / (depth + 1);
      } else {
        pWeight[s + i] = (pWeight[s + i]! * (depth + 1)) / (zero * (depth - i));
      }
    }
    for (let i = k; i < depth; i++) {
      pFeature[s + i] = pFeature[s + i + 1]!;
      pZero[s + i] = pZero[s + i + 1]!;
      pOne[s + i] = pOne[s + i + 1]!;
    }
  }

  private unwoundSum(s: number, depth: number, k: number): number {
    const { pZero, pOne, pWeight } = this;
    const one = pOne[s + k]!;
    const zero = pZero[s + k]!;
    let next = pWeight[s + depth]!;
    let total = 0;
    if (one !== 0) {
      for (let i = depth - 1; i >= 0; i--) {
        const tmp = next / ((i + 1) * one);
        total += tmp;
        next = pWeight[s + i]! - tmp * zero * (depth - i);
      }
    } else {
      for (let i = depth - 1; i >= 0; i--) total += pWeight[s + i]! / (zero * (depth - i));
    }
    return total * (depth + 1);
  }
}

/** E[f] over the training distribution the covers describe: base score + Σ trees Σ leaves value · cover / root cover. */
export function expectedValue(ensemble: TreeEnsemble): number {
  let sum = ensemble.baseScore;
  for (const tree of ensemble.trees) {
    for (let k = 0; k < tree.left.length; k++)
      if (tree.left[k]! < 0) sum += (tree.value[k]! * tree.cover[k]!) / tree.cover[0]!;
  }
  return sum;
}

function depthOf(tree: Tree, node: number): number {
  return tree.left[node]! < 0 ? 0 : 1 + Math.max(depthOf(tree, tree.left[node]!), depthOf(tree, tree.right[node]!));
}
