import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ReviewResolutionSchema, type ReviewResolution } from "../../gen/scoremesh/audit/v1/audit_pb.js";
import { ReviewActionSchema } from "../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { FrameKind, type TrailEntry } from "../../services/lib/audit/index.js";
import type { TrustedOperators } from "../../services/lib/nats/index.js";
import { verifyAction } from "../../services/monitor/reviews/action-signing.js";
import { messageJson } from "./output.js";

/** A review resolution found in the trail, and whether the reviewer's signature over it checks out. */
export interface FoundResolution {
  at: number;
  resolution: ReviewResolution;
  /** Empty when verified; else why not. */
  signatureProblem: string;
}

/** The review resolutions of `requestId` in `entries`, with their signatures checked against `trusted`. */
export function resolutionsOf(entries: TrailEntry[], requestId: string, trusted: TrustedOperators): FoundResolution[] {
  const needle = Buffer.from(requestId, "utf8");
  const out: FoundResolution[] = [];
  for (const e of entries) {
    if (e.kind !== FrameKind.Review || Buffer.from(e.bytes).indexOf(needle) < 0) continue;
    const resolution = fromBinary(ReviewResolutionSchema, e.bytes);
    if (resolution.requestId === requestId)
      out.push({ at: e.at, resolution, signatureProblem: signatureProblem(resolution, trusted) });
  }
  return out;
}

/** Why the resolution's signed action does not prove it ("" when it does). */
function signatureProblem(r: ReviewResolution, trusted: TrustedOperators): string {
  try {
    // The action was checked against the clock when made: here only who signed it and what it says count.
    const payload = JSON.parse(r.signedAction) as { payload?: string };
    const action = fromJsonString(ReviewActionSchema, payload.payload ?? "");
    const at = action.at ? timestampMs(action.at) : 0;
    const { action: a, reviewer } = verifyAction(r.signedAction, trusted, at);
    if (reviewer.key !== r.reviewerKey) return "signed by another key than the reviewer's";
    if (a.caseId !== r.caseId || a.decision !== r.decision || a.note !== r.note)
      return "the signed action differs from the recorded resolution";
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

export function resolutionJson(f: FoundResolution) {
  return {
    streamSeq: f.at,
    resolution: messageJson(ReviewResolutionSchema, f.resolution),
    signatureVerified: f.signatureProblem === "",
  };
}

export function printResolution(f: FoundResolution): void {
  const r = f.resolution;
  const when = (t?: Timestamp) => (t ? new Date(timestampMs(t)).toISOString() : "?");
  console.log(
    [
      `  reviewed: ${Decision[r.originalDecision]} -> ${Decision[r.decision]} by ${r.reviewer} (${r.reviewerKey})`,
      `    case ${r.caseId}  claimed ${when(r.claimedAt)}  resolved ${when(r.resolvedAt)}  stream seq ${f.at}`,
      `    note: ${r.note}`,
      `    reviewer's signature: ${f.signatureProblem === "" ? "verified" : `NOT VERIFIED (${f.signatureProblem})`}`,
    ].join("\n"),
  );
}
