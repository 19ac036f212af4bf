import { readFileSync } from "node:fs";
import { ConfigError, trustedOperators, type EnvReader } from "../../lib/service/index.js";
import { operatorSigner, type Signer, type TrustedOperators } from "../../lib/nats/index.js";

/** The rollout controller's settings (docs/rollouts.md#automated-rollouts). */
export interface RolloutConfig {
  /** Its operator key (MONITOR_ROLLOUT_OPERATOR_KEY_FILE): the policies it writes are signed with it. */
  signer: Signer;
  /** Whose signed policies it reads (SCOREMESH_TRUSTED_OPERATORS_FILE). */
  trusted: TrustedOperators;
  /** MONITOR_ROLLOUT_LEASE_MS: the lease lapses after this long without renewal (default 5000). */
  leaseMs: number;
  /** MONITOR_ROLLOUT_TICK_MS: how often it renews the lease and checks the rollouts (default 500). */
  tickMs: number;
}

export const ROLLOUT_OPERATOR_KEY_FILE = "MONITOR_ROLLOUT_OPERATOR_KEY_FILE";

/** The controller's settings, or nothing when MONITOR_ROLLOUT_OPERATOR_KEY_FILE is unset (controller off). */
export function readRolloutConfig(env: EnvReader): { rollout?: RolloutConfig } {
  const file = env.optional(ROLLOUT_OPERATOR_KEY_FILE);
  if (!file) return {};
  let signer: Signer;
  try {
    signer = operatorSigner(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(ROLLOUT_OPERATOR_KEY_FILE, `${file}: ${(err as Error).message}`);
  }
  const tickMs = env.int("MONITOR_ROLLOUT_TICK_MS", 500, 50, 60_000);
  const leaseMs = env.int("MONITOR_ROLLOUT_LEASE_MS", 5000, 200, 600_000);
  if (leaseMs < 3 * tickMs)
    throw new ConfigError("MONITOR_ROLLOUT_LEASE_MS", `must be at least 3 × MONITOR_ROLLOUT_TICK_MS (${3 * tickMs})`);
  return { rollout: { signer, trusted: trustedOperators(env), leaseMs, tickMs } };
}
