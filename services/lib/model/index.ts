// The public surface of services/lib/model: import from here, not from the files.
export * from "./card-sections.js";
export * from "./decision.js";
export * from "./entity-snapshot.js";
export * from "./feature-spec.js";
export * from "./model-card.js";
export * from "./model-repository.js";
export * from "./skew-guard.js";
export * from "./tensor-bytes.js";
export * from "./tree-ensemble.js";
export * from "./rules-scorecard.js";
export * from "./version-folder.js";
