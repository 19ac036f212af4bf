// The public surface of services/lib/batching: import from here, not from the files.
export * from "./batcher.js";
export * from "./batch-deadlines.js";
export * from "./batch-errors.js";
export * from "./batching-settings.js";
export * from "./hop-batcher.js";
export * from "./join-split.js";
export * from "./keyed-batchers.js";
export * from "./batch-metrics.js";
