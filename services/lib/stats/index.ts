// The public surface of services/lib/stats: pure comparison statistics for drift, segments and canary analysis.
export * from "./bins.js";
export * from "./drift-state.js";
export * from "./ks.js";
export * from "./psi.js";
export * from "./rates.js";
export * from "./sliding-counts.js";
export * from "./time-counts.js";
export * from "./arm-sample.js";
export * from "./canary-analysis.js";
export * from "./outcome-metrics.js";
