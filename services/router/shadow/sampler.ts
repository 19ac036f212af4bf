import { createHash } from "node:crypto";
import { ASSIGNMENT_BUCKETS, type AssignableRow } from "../canary/assignment.js";

/**
 * True when a champion row of `model` is in a shadow's sample of `rate` (0..1]: SHA-256 of "shadow", the model's
 * name and the row's entity id (its request id when it has none) gives a bucket in 0..9999, and buckets below
 * rate × 10000 are in. Sticky, like the canary: every router replica shadows the same entities, so the pairs
 * compare the same cohort however traffic is spread, and raising the rate keeps the entities already sampled.
 * The "shadow" salt keeps the sample independent of the canary's buckets (otherwise, next to a canary at p %, the
 * champion's rows would all lie above p % and a shadow at rate ≤ p % would get none).
 *
 * @example
 *   inShadowSample("credit-default", { entityId: "C-1042", requestId: "r-1" }, 0.1); // same answer on every replica
 */
export function inShadowSample(model: string, row: AssignableRow, rate: number): boolean {
  if (!(rate > 0)) return false;
  const key = row.entityId ? `entity:${row.entityId}` : `request:${row.requestId}`;
  const digest = createHash("sha256").update("shadow\n").update(model).update("\n").update(key).digest();
  return digest.readUInt32BE(0) % ASSIGNMENT_BUCKETS < Math.round(rate * ASSIGNMENT_BUCKETS);
}
