// The public surface of services/lib/audit: import from here, not from the files.
export * from "./chain.js";
export * from "./checkpoint.js";
export * from "./frames.js";
export * from "./stream.js";
export * from "./verify.js";
export * from "./number-map.js";
export * from "./retention.js";
