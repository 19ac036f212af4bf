import { readFileSync } from "node:fs";
import { MeshCredentials, TlsMaterialError, type TlsMaterial } from "../rpc/index.js";
import { ConfigError, type EnvReader } from "./config.js";

/** The variables of a process's TLS identity, the same in every service and in meshctl. */
export const TLS_VARIABLES = {
  mode: "TLS_MODE",
  ca: "TLS_CA_FILE",
  cert: "TLS_CERT_FILE",
  key: "TLS_KEY_FILE",
} as const;

/**
 * The process's mesh credentials: TLS_MODE `mtls` (the default) reads TLS_CA_FILE, TLS_CERT_FILE and
 * TLS_KEY_FILE once and checks them (a missing or unusable file is a ConfigError naming its variable);
 * `off` is plaintext, only when asked for explicitly.
 *
 * @example
 *   const tls = readTlsConfig(new EnvReader({ TLS_CA_FILE: "ca.pem", TLS_CERT_FILE: "router.pem", TLS_KEY_FILE: "router-key.pem" }));
 */
export function readTlsConfig(env: EnvReader): MeshCredentials {
  if (env.oneOf(TLS_VARIABLES.mode, ["mtls", "off"], "mtls") === "off") return MeshCredentials.plaintext();
  const read = (part: keyof TlsMaterial): Buffer => {
    const variable = TLS_VARIABLES[part];
    const path = env.optional(variable);
    if (path === undefined)
      throw new ConfigError(variable, "is required with TLS_MODE=mtls (the default); TLS_MODE=off is plaintext");
    try {
      return readFileSync(path);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new ConfigError(variable, `cannot read ${path} (${why})`);
    }
  };
  const material = { ca: read("ca"), cert: read("cert"), key: read("key") };
  try {
    return MeshCredentials.mutual(material);
  } catch (err) {
    if (!(err instanceof TlsMaterialError)) throw err;
    const variable = TLS_VARIABLES[err.part];
    throw new ConfigError(variable, `${env.optional(variable)} ${err.message}`);
  }
}

/**
 * The plaintext health-only listener `<PREFIX>_HEALTH_ADDR` (e.g. ROUTER_HEALTH_ADDR): grpc.health.v1 and nothing
 * else, for probes that cannot present a certificate (Kubernetes' gRPC probes dial plaintext). Unset: none.
 */
export function readHealthAddress(env: EnvReader, prefix: string): string | undefined {
  const name = `${prefix}_HEALTH_ADDR`;
  return env.optional(name) === undefined ? undefined : env.address(name);
}

/** What every service reads about its transport security (see readTlsConfig and readHealthAddress). */
export interface ServiceTlsConfig {
  /** Mutual TLS on the main port and on every channel to a peer; plaintext only with TLS_MODE=off. */
  tls: MeshCredentials;
  /** The plaintext health-only listener (`<PREFIX>_HEALTH_ADDR`); undefined: none. */
  healthAddress?: string;
}

/** TLS_* and `<prefix>_HEALTH_ADDR`, for a service's readConfig: `...readServiceTls(env, "ROUTER")`. */
export function readServiceTls(env: EnvReader, prefix: string): ServiceTlsConfig {
  return { tls: readTlsConfig(env), healthAddress: readHealthAddress(env, prefix) };
}

/**
 * How a client dials the validator's public listeners: with TLS (checking the validator's certificate against
 * TLS_CA_FILE) when VALIDATOR_PUBLIC_TLS=on, plaintext otherwise (the default).
 */
export function readEdgeCredentials(env: EnvReader): MeshCredentials {
  const on = env.oneOf("VALIDATOR_PUBLIC_TLS", ["on", "off"], "off") === "on";
  return on ? readTlsConfig(env) : MeshCredentials.plaintext();
}
