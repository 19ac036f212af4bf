import { randomUUID } from "node:crypto";
import type { ScoreRequest } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import type { FeatureSpec } from "../lib/model/index.js";
import { invalidArgument, type FieldViolation } from "../lib/rpc/index.js";
import type { IdempotencyCache, Reservation } from "./idempotency/idempotency-cache.js";
import { idempotencyKey, requestFingerprint } from "./idempotency/fingerprint.js";
import type { ScoreResponseInit } from "./routes.js";
import type { ValidatedRowInit } from "./score-rows.js";
import { validateLabels } from "./labels.js";
import { validateId, validateInputs } from "./validation.js";

/** How each request of a call is answered. Idempotency is per row: each request id of a batch on its own. */
export interface RowPlan {
  /** Indexes of the requests to score now, in order. */
  fresh: number[];
  /** Cache keys of the fresh requests that carry a request id (by index). */
  keys: Map<number, { key: string; fingerprint: string }>;
  /** Requests answered by an earlier call's answer (in flight or done), by index. */
  cached: Map<number, Promise<ScoreResponseInit>>;
  /** Requests that repeat an earlier request of this call: index → that request's index. */
  copies: Map<number, number>;
  /** Request ids reused with other inputs. */
  violations: FieldViolation[];
}

/** Sorts a call's requests into fresh, cached and copies; without a cache (or a request id) every request is fresh. */
export function planRows(
  cache: IdempotencyCache<ScoreResponseInit> | undefined,
  tenantId: string,
  requests: readonly ScoreRequest[],
  path: (field: string, index: number) => string,
): RowPlan {
  const plan: RowPlan = { fresh: [], keys: new Map(), cached: new Map(), copies: new Map(), violations: [] };
  const seen = new Map<string, { fingerprint: string; index: number }>();
  requests.forEach((r, i) => {
    // A malformed id is never looked up (validation refuses it); a valid one has no NUL, the key's separator.
    if (!cache || !r.requestId || validateId(r.requestId, "")) return void plan.fresh.push(i);
    const key = idempotencyKey(tenantId, r.requestId);
    const fingerprint = requestFingerprint(r);
    const earlier = seen.get(key) ?? cache.get(key);
    if (earlier && earlier.fingerprint !== fingerprint) {
      plan.violations.push({
        field: path("request_id", i),
        reason: "REQUEST_ID_REUSED",
        description: `request id ${JSON.stringify(r.requestId.slice(0, 64))} was used for a different request within the idempotency window`,
      });
    } else if (earlier && "index" in earlier) {
      plan.copies.set(i, earlier.index);
    } else if (earlier) {
      plan.cached.set(i, earlier.answer);
    } else {
      seen.set(key, { fingerprint, index: i });
      plan.keys.set(i, { key, fingerprint });
      plan.fresh.push(i);
    }
  });
  return plan;
}

/** Reserves the fresh rows' keys (by position among the fresh rows), so concurrent duplicates wait for them. */
export function reserveFresh(
  cache: IdempotencyCache<ScoreResponseInit> | undefined,
  plan: RowPlan,
  rows: readonly ValidatedRowInit[],
): Map<number, Reservation<ScoreResponseInit>> {
  const out = new Map<number, Reservation<ScoreResponseInit>>();
  if (!cache) return out;
  plan.fresh.forEach((i, k) => {
    const id = plan.keys.get(i);
    if (id && rows[k]) out.set(k, cache.reserve(id.key, id.fingerprint));
  });
  return out;
}

/**
 * Checks every request (model, ids, inputs against the model's schema) and returns the validated rows of the
 * fresh ones; throws INVALID_ARGUMENT naming every bad field.
 */
export function validateRows(
  specs: ReadonlyMap<string, FeatureSpec>,
  requests: readonly ScoreRequest[],
  fresh: readonly number[],
  path: (field: string, index: number) => string,
  call: { traceId: string; tenantId: string },
): ValidatedRowInit[] {
  const violations: FieldViolation[] = [];
  const rows = new Map<number, ValidatedRowInit>();
  const model = requests[0]!.model;
  requests.forEach((r, i) => {
    const spec = specs.get(r.model);
    const bad = modelViolation(specs, r.model, model, path("model", i));
    if (bad) violations.push(bad);
    for (const [field, value] of [
      ["request_id", r.requestId],
      ["entity_id", r.entityId],
    ] as const) {
      const v = validateId(value, path(field, i));
      if (v) violations.push(v);
    }
    violations.push(...validateLabels(r.labels, path("labels", i)));
    if (!spec) return;
    const checked = validateInputs(spec, r.inputs, path("inputs", i));
    violations.push(...checked.violations);
    const requestId = r.requestId || randomUUID();
    const row = { requestId, entityId: r.entityId, inputs: checked.values, explain: r.explain, labels: r.labels };
    rows.set(i, { ...row, ...call });
  });
  if (violations.length > 0) throw invalidArgument(violations);
  return fresh.map((i) => rows.get(i)!);
}

function modelViolation(
  specs: ReadonlyMap<string, FeatureSpec>,
  name: string,
  model: string,
  field: string,
): FieldViolation | undefined {
  const known = [...specs.keys()].join(", ");
  if (!name) return { field, reason: "REQUIRED", description: `is required (one of: ${known})` };
  if (!specs.has(name)) {
    const description = `unknown model ${JSON.stringify(name.slice(0, 64))} (known: ${known})`;
    return { field, reason: "UNKNOWN_MODEL", description };
  }
  if (name !== model)
    return {
      field,
      reason: "MIXED_MODELS",
      description: `every request of a batch must name the same model (${model})`,
    };
  return undefined;
}
