// The public surface of services/lib/batching: import from here, not from the files.
export * from "./batcher.js";
export * from "./hop-batcher.js";
