export { artifactFiles, writeArtifacts, type ArtifactFile } from "./artifacts.js";
export { modelCard, type CardInput } from "./card.js";
export { refreshCards, type RefreshedCard } from "./card-refresh.js";
export { cardSections, type FamilyCard, type HeldOutData } from "./card-sections.js";
export { checkRows, requireColumns } from "./check-rows.js";
export { classWeights, type ClassWeight } from "./class-weight.js";
export { fitStandardize } from "./column-stats.js";
export { CREDIT_INPUTS, CREDIT_SEGMENTS, creditEdgeCases } from "./credit-columns.js";
export { creditDefault, creditDefaultSpec } from "./credit-default.js";
export { creditHistoryFeatures } from "./credit-history-features.js";
export {
  creditDefaultEntities,
  creditDefaultEntityFeatures,
  creditDefaultEntityId,
} from "./credit-default-entities.js";
export { loadCsv, parseCsv, type CsvTable } from "./csv.js";
export type { DataRow } from "./data-row.js";
export { TrainingDataError } from "./errors.js";
export { FAMILIES } from "./families.js";
export { featureMatrix, labelVector } from "./feature-matrix.js";
export { prettyJson } from "./json-file.js";
export {
  fitLogisticRegression,
  sigmoid,
  type LogisticRegressionFit,
  type LogisticRegressionOptions,
} from "./logistic-regression.js";
export type { Matrix } from "./matrix.js";
export { brierScore, holdoutMetrics, ksStatistic, logLoss, quantile, rocAuc, type HoldoutMetrics } from "./metrics.js";
export { isLatePayment, latePayment, latePaymentSpec } from "./late-payment.js";
export {
  defaultDataPath,
  type EntityRecipe,
  type GradientBoostingRecipe,
  type LogisticRegressionRecipe,
  type ModelFamily,
  type VersionRecipe,
} from "./model-family.js";
export {
  logisticRegressionOnnx,
  treeEnsembleOnnx,
  type LogisticRegressionOnnxOptions,
  type TreeEnsembleOnnxOptions,
} from "./onnx-export.js";
export { describeTrees, fitGradientBoosting, type GradientBoostingOptions } from "./gradient-boosting.js";
export { goldenVectors, type GoldenFile, type GoldenRow } from "./golden.js";
export { calibration, histogram, type CalibrationBin } from "./profile.js";
export { scoreWithOnnx } from "./onnx-scorer.js";
export { createRng, type Rng } from "./rng.js";
export { roundDecimals, roundSignificant, shortestFloat32 } from "./rounding.js";
export { segmentPerformance, type SegmentPerformanceInput } from "./segment-performance.js";
export { splitRows, type Split, type SplitOptions } from "./split.js";
export { trainFamily, type TrainedFamily, type TrainedVersion } from "./train.js";
