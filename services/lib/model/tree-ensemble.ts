/**
 * A tree ensemble for binary classification, as the training kit builds it and as model.onnx holds it:
 * raw output (log-odds) = base_score + Σ over trees of the value of the leaf the row reaches, and the score is
 * σ(raw). At a split node a row goes left when x[feature] <= threshold (ONNX BRANCH_LEQ, compared in float32),
 * right otherwise. `cover` is the number of training rows that reached each node: TreeSHAP needs it.
 */
export interface Tree {
  /** Split feature (column of the vector) of each node; -1 at a leaf. */
  feature: number[];
  /** float32 threshold of each split node; 0 at a leaf. */
  threshold: number[];
  /** Child node indices; -1 at a leaf. */
  left: number[];
  right: number[];
  /** float32 leaf values (already scaled by the learning rate); 0 at a split node. */
  value: number[];
  /** Training rows that reached each node. */
  cover: number[];
}

export interface TreeEnsemble {
  /** float32 raw output before any tree (log-odds of the training default rate). */
  baseScore: number;
  trees: Tree[];
}

/** The leaf a row reaches in one tree. */
export function leafOf(tree: Tree, x: ArrayLike<number>, offset = 0): number {
  let node = 0;
  while (tree.left[node]! >= 0) {
    node = x[offset + tree.feature[node]!]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
  }
  return node;
}

/** The ensemble's raw output (log-odds) for one row, summed in float64. */
export function predictRaw(ensemble: TreeEnsemble, x: ArrayLike<number>, offset = 0): number {
  let sum = ensemble.baseScore;
  for (const tree of ensemble.trees) sum += tree.value[leafOf(tree, x, offset)]!;
  return sum;
}

/** Depth of the deepest leaf (the root alone is depth 0). */
export function treeDepth(tree: Tree, node = 0): number {
  return tree.left[node]! < 0 ? 0 : 1 + Math.max(treeDepth(tree, tree.left[node]), treeDepth(tree, tree.right[node]));
}
