import { Assignment, type AuditRecord } from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { Decision } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import {
  buildVector,
  decide,
  decideDegraded,
  featureColumns,
  type FeatureSpec,
} from "../../../services/lib/model/index.js";

/** A record's vector rebuilt from its recorded inputs and entity features with the recorded spec. */
export interface Rebuilt {
  vector: Float32Array;
  imputed: string[];
}

/**
 * Rebuilds the vector of a record with the feature spec it was built with (the caller checks the spec's hash
 * against `featureSpecHash`): the recorded inputs (no protected attribute: no feature reads one, checkSpec refuses
 * such a spec) and the recorded entity features, exactly as the feature service built it.
 */
export function rebuildVector(spec: FeatureSpec, r: Pick<AuditRecord, "inputs" | "entityFeatures">): Rebuilt {
  const entity = Object.keys(r.entityFeatures).length > 0 ? r.entityFeatures : undefined;
  return buildVector(spec, r.inputs, entity);
}

/** Why a record cannot be replayed (undefined: it can): it predates recorded inputs, or its spec is unknown. */
export function notReplayable(r: AuditRecord, specHash: string | undefined): string | undefined {
  if (r.assignment === Assignment.SHADOW) return "a shadow score (never returned)";
  if (Object.keys(r.inputs).length === 0) return "no recorded inputs (recorded before inputs were kept)";
  if (specHash === undefined) return `no feature spec of model ${r.model} in the repository`;
  if (specHash !== r.featureSpecHash)
    return `recorded spec ${r.featureSpecHash} is not the repository's (${specHash}) for ${r.model}`;
  return undefined;
}

/** What a replay produced for one record. */
export interface ReplayOutcome {
  score: number;
  thresholds: { review: number; decline: number };
  decision: Decision;
  reasons: readonly { code: string; feature: string; contribution: number }[];
}

/** The decision the router makes of a score: a degraded decision within the recorded band goes to review. */
export function replayDecision(
  score: number,
  t: { review: number; decline: number },
  r: Pick<AuditRecord, "degraded" | "reviewBand">,
): Decision {
  return r.degraded ? decideDegraded(score, t, r.reviewBand) : decide(score, t);
}

export interface Mismatch {
  field: "vector" | "imputed" | "score" | "thresholds" | "decision" | "reasons";
  recorded: string;
  replayed: string;
}

const view = new DataView(new ArrayBuffer(8));

/** A number's float32 bits as hex ("0x3e8f5c29"). */
export function f32Hex(x: number): string {
  view.setFloat32(0, x, true);
  return "0x" + view.getUint32(0, true).toString(16).padStart(8, "0");
}

/** A number's float64 bits as hex. */
export function f64Hex(x: number): string {
  view.setFloat64(0, x, true);
  return "0x" + view.getBigUint64(0, true).toString(16).padStart(16, "0");
}

/** The first column whose float32 bits differ, or -1 (a length difference counts at the shorter length). */
export function firstVectorDifference(recorded: ArrayLike<number>, rebuilt: Float32Array): number {
  const a = new Uint32Array(Float32Array.from(recorded).buffer);
  const b = new Uint32Array(rebuilt.buffer, rebuilt.byteOffset, rebuilt.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

const reasonText = (xs: ReplayOutcome["reasons"]) =>
  xs.map((x) => `${x.code}:${x.feature}:${f64Hex(x.contribution)}`).join(",") || "-";

/**
 * Compares a replay with its record: the vector and imputed features bit for bit, the score bit for bit (a
 * model's float32 as the worker returned it, widened to double as the router records it; the rules' double), the
 * thresholds, the decision and every reason (code, feature, contribution). Returns every difference.
 */
export function compareReplay(spec: FeatureSpec, r: AuditRecord, rebuilt: Rebuilt, out: ReplayOutcome): Mismatch[] {
  const found: Mismatch[] = [];
  const col = firstVectorDifference(r.vector, rebuilt.vector);
  if (col >= 0) {
    const name = featureColumns(spec)[col] ?? `#${col}`;
    found.push({
      field: "vector",
      recorded: `${r.vector.length} columns, ${name} = ${r.vector[col]}`,
      replayed: `${rebuilt.vector.length} columns, ${name} = ${rebuilt.vector[col]}`,
    });
  }
  if (r.imputed.join(",") !== rebuilt.imputed.join(","))
    found.push({ field: "imputed", recorded: r.imputed.join(",") || "-", replayed: rebuilt.imputed.join(",") || "-" });
  if (!Object.is(r.score, out.score)) {
    const hex = r.modelVersion === "rules" ? f64Hex : f32Hex;
    found.push({
      field: "score",
      recorded: `${r.score} (${hex(r.score)})`,
      replayed: `${out.score} (${hex(out.score)})`,
    });
  }
  const t = r.thresholds ?? { review: 0, decline: 0 };
  if (t.review !== out.thresholds.review || t.decline !== out.thresholds.decline)
    found.push({
      field: "thresholds",
      recorded: `${t.review}/${t.decline}`,
      replayed: `${out.thresholds.review}/${out.thresholds.decline}`,
    });
  if (r.decision !== out.decision)
    found.push({ field: "decision", recorded: Decision[r.decision], replayed: Decision[out.decision] });
  if (reasonText(r.reasons) !== reasonText(out.reasons))
    found.push({ field: "reasons", recorded: reasonText(r.reasons), replayed: reasonText(out.reasons) });
  return found;
}
