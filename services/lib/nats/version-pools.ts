import type { VersionPool } from "../../../gen/scoremesh/policy/v1/policy_pb.js";

/** The prefix of the ServerMetadata extension that carries each of a worker's labels, e.g. "worker_label:gpu". */
export const LABEL_EXTENSION = "worker_label:";

/** A worker pool label: lower-case letters, digits and '-', starting with a letter or digit, at most 32 characters. */
export const POOL_LABEL = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** What is wrong with a label (naming `field`), or undefined. */
export function labelProblem(label: string, field: string): string | undefined {
  if (POOL_LABEL.test(label)) return undefined;
  return `${field} must be lower-case letters, digits and '-' (at most 32, e.g. "gpu"), got ${JSON.stringify(label)}`;
}

/** What is wrong with a policy's pool rules (none is fine), naming the field; undefined when nothing is. */
export function poolsProblem(pools: readonly Pick<VersionPool, "version" | "label">[]): string | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < pools.length; i++) {
    const { version, label } = pools[i]!;
    if (!/^[1-9][0-9]*$/.test(version))
      return `pools[${i}].version must be a version number, got ${JSON.stringify(version)}`;
    if (seen.has(version)) return `pools[${i}].version ${version} has a rule already: at most one per version`;
    seen.add(version);
    const bad = labelProblem(label, `pools[${i}].label`);
    if (bad) return bad;
  }
  return undefined;
}
