// The public surface of services/lib/nats: import from here, not from the files.
export * from "./bucket-replicas.js";
export * from "./connect.js";
export * from "./kv-codec.js";
export * from "./kv-watch.js";
export * from "./policy-bootstrap.js";
export * from "./policy-codec.js";
export * from "./policy-store.js";
export * from "./signed-value.js";
export * from "./trusted-operators.js";
export * from "./worker-record.js";
export * from "./worker-registry.js";
export * from "./api-key.js";
export * from "./tenant-codec.js";
export * from "./tenant-store.js";
export * from "./usage-store.js";
export * from "./rollout-store.js";
