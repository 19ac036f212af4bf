import { join } from "node:path";
import type { EntityValues, EntityFeatureSpec, FeatureSpec, InputSpec } from "../../services/lib/model/index.js";
import type { FamilyCard } from "./card-sections.js";
import type { ClassWeight } from "./class-weight.js";
import type { DataRow } from "./data-row.js";
import type { GradientBoostingOptions } from "./gradient-boosting.js";
import type { SplitOptions } from "./split.js";

/** What the training kit needs to know to train every version of one model family. */
export interface ModelFamily {
  /** The family's name and folder in the model repository, e.g. "credit-default". */
  model: string;
  /** Default data file, under <repository>/<dataFrom>/data/. */
  dataFile: string;
  /** The folder of the model repository whose data/ holds the data file (default: the family's own, `model`). */
  dataFrom?: string;
  /** The 0/1 label column: a column of the data file, or the column `labelOf` derives. */
  label: string;
  /**
   * Derives the label of a data row, for a family whose target is not a column of the data (e.g. a late
   * payment from a repayment status). The inputs must not carry what it reads, or the models learn a leak.
   */
  labelOf?: (row: DataRow) => 0 | 1;
  split: SplitOptions;
  /** What a request carries (the spec's inputs); every data row must satisfy them. */
  inputs: InputSpec[];
  /**
   * The family's feature spec, its transforms fitted on the training rows only. `entities[i]` holds the entity
   * features of `train[i]` as the snapshot gives them (see `entities`).
   */
  spec(train: readonly DataRow[], entities: readonly (EntityValues | undefined)[]): FeatureSpec;
  /** Per-entity features precomputed by a batch job: the training kit writes the snapshot and trains on it. */
  entities?: EntityRecipe;
  /** Score quantiles of the holdout set that become each version's thresholds. */
  thresholdQuantiles: { review: number; decline: number };
  versions: VersionRecipe[];
  /** The intended use, limitations and data provenance every version's card states (see card-sections.ts). */
  card: FamilyCard;
  /**
   * Rows of golden.json beyond the data's first rows, made from the first row's inputs: the edges of the spec
   * (an input left out, extreme values, codes outside the one-hot categories).
   */
  goldenVariants(first: Readonly<Record<string, number>>): Record<string, number>[];
}

/** Where the training kit reads a family's data by default: <repository>/<dataFrom or model>/data/<dataFile>. */
export function defaultDataPath(repository: string, family: ModelFamily): string {
  return join(repository, family.dataFrom ?? family.model, "data", family.dataFile);
}

/** How one version is trained: a logistic regression (the light model) or gradient-boosted trees (the heavy one). */
export type VersionRecipe = LogisticRegressionRecipe | GradientBoostingRecipe;

interface RecipeBase {
  /** A positive integer, the version's folder name. */
  version: string;
  description: string;
  /** Make this version the champion when the model has no serving policy yet (see seedChampion). */
  seedChampion?: boolean;
  /** What this version is for, after the family's intended use on its card. */
  intendedUse?: string;
  /** This version's own limitations, before the family's on its card. */
  limitations?: string[];
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

/**
 * How the training kit builds a family's entity snapshot (models/<model>/entities/snapshot-*.jsonl) from the data
 * file: every data row is one entity. Training joins each row to its entity by id through the written snapshot,
 * so the models learn from exactly the values the feature service will look up.
 */
export interface EntityRecipe {
  /** The entity id of data row `index` (0-based, in file order), e.g. "C" + the zero-padded index. */
  idOf(index: number): string;
  /** How ids are made, for the snapshot's header. */
  idRule: string;
  /** The snapshot's columns. */
  features: EntityFeatureSpec[];
  /** One row's entity features (rounded as they are to be written). */
  compute(row: DataRow): Record<string, number>;
  /**
   * created_at of the snapshot the kit writes. Fixed, so that retraining reproduces the file byte for byte:
   * the time the data describes, not the time the kit ran.
   */
  createdAt: string;
}
