// The public surface of services/lib/service: import from here, not from the files.
export * from "./clock.js";
export * from "./config.js";
export * from "./logger.js";
export * from "./nats-config.js";
export * from "./run-service.js";
export * from "./service-host.js";
export * from "./telemetry.js";
export * from "./tls-config.js";
export * from "./metrics.js";
export * from "./tenant-label.js";
