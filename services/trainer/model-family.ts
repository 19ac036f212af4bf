import type { FeatureSpec, InputSpec } from "../lib/feature-spec.js";
import type { ClassWeight } from "./class-weight.js";
import type { DataRow } from "./data-row.js";
import type { GradientBoostingOptions } from "./gradient-boosting.js";
import type { SplitOptions } from "./split.js";

/** What the training kit needs to know to train every version of one model family. */
export interface ModelFamily {
  /** The family's name and folder in the model repository, e.g. "credit-default". */
  model: string;
  /** Default data file, under <repository>/<model>/data/. */
  dataFile: string;
  /** The 0/1 label column of the data file. */
  label: string;
  split: SplitOptions;
  /** What a request carries (the spec's inputs); every data row must satisfy them. */
  inputs: InputSpec[];
  /** The family's feature spec, its transforms fitted on the training rows only. */
  spec(train: readonly DataRow[]): FeatureSpec;
  /** Score quantiles of the holdout set that become each version's thresholds. */
  thresholdQuantiles: { review: number; decline: number };
  versions: VersionRecipe[];
}

/** How one version is trained: a logistic regression (the light model) or gradient-boosted trees (the heavy one). */
export type VersionRecipe = LogisticRegressionRecipe | GradientBoostingRecipe;

interface RecipeBase {
  /** A positive integer, the version's folder name. */
  version: string;
  description: string;
  /** Make this version the champion when the model has no serving policy yet (see seedChampion). */
  seedChampion?: boolean;
}

export interface LogisticRegressionRecipe extends RecipeBase {
  algorithm: "logistic_regression";
  /** L2 penalty λ on the coefficients (see fitLogisticRegression). */
  l2: number;
  classWeight: ClassWeight;
}

export interface GradientBoostingRecipe extends RecipeBase {
  algorithm: "gradient_boosted_trees";
  options: Required<GradientBoostingOptions>;
}
