import { createHash } from "node:crypto";

/** How many buckets assignment spreads rows over: a canary's percent counts in basis points (0.01 %). */
export const ASSIGNMENT_BUCKETS = 10_000;

/** What a row is assigned by: its entity, or its request when it names no entity. */
export interface AssignableRow {
  entityId: string;
  requestId: string;
}

/**
 * The assignment bucket (0..9999) of a row of `model`: SHA-256 of the model's name and the row's entity id (its
 * request id when it has none), so that every router replica, and every restart, puts an entity in the same
 * bucket. The model is part of the hash, so one model's canary does not always take the same entities as
 * another's.
 *
 * @example
 *   assignmentBucket("credit-default", { entityId: "C-1042", requestId: "r-1" }); // e.g. 7313, on every replica
 */
export function assignmentBucket(model: string, row: AssignableRow): number {
  const key = row.entityId ? `entity:${row.entityId}` : `request:${row.requestId}`;
  const digest = createHash("sha256").update(model).update("\n").update(key).digest();
  return digest.readUInt32BE(0) % ASSIGNMENT_BUCKETS;
}

/**
 * True when the row goes to a canary that takes `percent` of traffic: its bucket is below percent × 100.
 * Raising the percent keeps every entity the canary already had.
 */
export function inCanary(model: string, row: AssignableRow, percent: number): boolean {
  return assignmentBucket(model, row) < Math.round(percent * (ASSIGNMENT_BUCKETS / 100));
}
