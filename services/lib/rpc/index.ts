// The public surface of services/lib/rpc: import from here, not from the files.
export * from "./grpc-server.js";
export * from "./grpc-transport.js";
export * from "./handler-context.js";
export * from "./health-client.js";
export * from "./metadata.js";
export * from "./public-error.js";
export * from "./status-details.js";
export * from "./retry-info.js";
export * from "./tracing.js";
export * from "./tls-credentials.js";
export * from "./retry-info.js";
export * from "./bearer-transport.js";
export * from "./server-metrics.js";
export * from "./in-process.js";
export * from "./in-process-context.js";
