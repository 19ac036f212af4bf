import { createHash } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ScoreRequest, ScoreResponseSchema } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";

type ScoreResponseInit = MessageInitShape<typeof ScoreResponseSchema>;

/** The cache key of a request id: scoped by tenant ("" without authentication), so two tenants may use one id. */
export function idempotencyKey(tenantId: string, requestId: string): string {
  return `${tenantId}\u0000${requestId}`;
}

/**
 * What a request asks for, to tell a retry from a reused request id: SHA-256 (128 bits, hex) over model,
 * entity_id, explain and the inputs with their keys sorted (values as JSON), so the same inputs in another key
 * order are the same request. Not lib/model's canonicalJson: inputs are one flat object (a nested value is
 * refused by validation anyway), and sorting only the top level costs a third as much.
 */
export function requestFingerprint(r: ScoreRequest): string {
  let what = `${r.model}\u0000${r.entityId}\u0000${r.explain ? 1 : 0}`;
  const inputs = r.inputs ?? {};
  for (const k of Object.keys(inputs).sort()) what += `\u0000${k}=${JSON.stringify(inputs[k])}`;
  // Labels route the row (segment rules): another label set is another request.
  for (const k of Object.keys(r.labels).sort()) what += `\u0000label.${k}=${JSON.stringify(r.labels[k])}`;
  return createHash("sha256").update(what).digest("hex").slice(0, 32);
}

/** An estimate of the bytes a cached response holds (strings at 2 bytes a character, 8 per number, object overhead). */
export function responseBytes(r: ScoreResponseInit): number {
  let n = 160 + 2 * ((r.requestId?.length ?? 0) + (r.model?.length ?? 0) + (r.modelVersion?.length ?? 0));
  n += 2 * (r.traceId?.length ?? 0);
  for (const reason of r.reasons ?? []) n += 64 + 2 * ((reason.code?.length ?? 0) + (reason.feature?.length ?? 0));
  for (const f of r.imputedFeatures ?? []) n += 16 + 2 * f.length;
  return n;
}
