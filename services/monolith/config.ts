import { readFileSync } from "node:fs";
import { ConfigError, EnvReader } from "../lib/service/index.js";

/** The five services in the order they start: what each calls is up before it (the edge last). */
export const MONOLITH_SERVICES = ["model-worker", "monitor", "router", "feature", "validator"] as const;
export type MonolithService = (typeof MONOLITH_SERVICES)[number];
/** The order they stop in: the edge first (no new calls), the monitor last (the routers' records reach it). */
export const MONOLITH_STOP_ORDER: readonly MonolithService[] = [
  "validator",
  "feature",
  "router",
  "model-worker",
  "monitor",
];

/** The variable naming the file with each service's environment (JSON, mode 0600: it names key files). */
export const MONOLITH_ENV_FILE = "SCOREMESH_MONOLITH_ENV_FILE";

export interface MonolithConfig {
  /** Each service's own environment: read on top of the process's, as its own process would get it. */
  envs: Record<MonolithService, Record<string, string>>;
}

/**
 * SCOREMESH_MONOLITH_ENV_FILE: `{"validator": {...}, "feature": {...}, "router": {...}, "model-worker": {...},
 * "monitor": {...}}`, each a map of variable to string value, every service present. Checked once at start: a
 * missing file, bad JSON or a missing service stops the process naming the variable.
 *
 * @example
 *   const { envs } = readMonolithConfig(new EnvReader({ SCOREMESH_MONOLITH_ENV_FILE: ".scoremesh/monolith-env.json" }));
 */
export function readMonolithConfig(env = new EnvReader()): MonolithConfig {
  const file = env.string(MONOLITH_ENV_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(MONOLITH_ENV_FILE, `cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  const envs = {} as MonolithConfig["envs"];
  for (const service of MONOLITH_SERVICES) envs[service] = serviceEnv(parsed, service, file);
  return { envs };
}

function serviceEnv(parsed: unknown, service: MonolithService, file: string): Record<string, string> {
  const map = (parsed as Record<string, unknown> | null)?.[service];
  if (typeof map !== "object" || map === null || Array.isArray(map))
    throw new ConfigError(MONOLITH_ENV_FILE, `${file} has no environment for ${service} (an object of strings)`);
  for (const [k, v] of Object.entries(map))
    if (typeof v !== "string")
      throw new ConfigError(MONOLITH_ENV_FILE, `${file}: ${service}.${k} must be a string, got ${typeof v}`);
  return map as Record<string, string>;
}
