// The monitor's online drift: per model version, the score, every input and every protected attribute's segment
// against the card's reference profile, over the last N decisions and the last T; and the confidence decay.
export * from "./confidence.js";
export * from "./drift-watch.js";
export * from "./segment-reference.js";
export * from "./tracked-feature.js";
export * from "./version-drift.js";
export * from "./drift-config.js";
export * from "./drift-rpc.js";
export * from "./drift-gauges.js";
export * from "./drift-json.js";
export * from "./record-inputs.js";
