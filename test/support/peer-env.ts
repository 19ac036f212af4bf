/**
 * The peer addresses every service requires (no service defaults one to localhost), and TLS_MODE=off (mutual TLS,
 * the default, needs certificate files): what a unit test of a service's config sets so that the variable under
 * test is the only one that matters.
 */
export const PEER_ENV: Readonly<Record<string, string>> = {
  NATS_URL: "nats://127.0.0.1:4222",
  VALIDATOR_FEATURE_ADDR: "127.0.0.1:50061",
  FEATURE_ROUTER_ADDR: "127.0.0.1:50071",
  ROUTER_WORKER_ADDRS: "127.0.0.1:50081",
  ROUTER_MONITOR_ADDR: "127.0.0.1:50091",
  TLS_MODE: "off",
};
