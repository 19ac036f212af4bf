import { EnvReader } from "../lib/config.js";

export interface FeatureConfig {
  address: string;
  modelRepository: string;
  routerAddr: string;
  /** Deadline of the router call when the caller sent none. */
  defaultTimeoutMs: number;
  drainTimeoutMs: number;
}

export function readConfig(env = new EnvReader()): FeatureConfig {
  return {
    address: env.address("FEATURE_ADDR", "127.0.0.1:50061"),
    modelRepository: env.string("MODEL_REPOSITORY", "models"),
    routerAddr: env.address("FEATURE_ROUTER_ADDR", "127.0.0.1:50071"),
    defaultTimeoutMs: env.int("FEATURE_DEFAULT_TIMEOUT_MS", 2000, 1, 60_000),
    drainTimeoutMs: env.int("FEATURE_DRAIN_TIMEOUT_MS", 10_000, 0, 600_000),
  };
}
