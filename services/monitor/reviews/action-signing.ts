import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { ReviewActionSchema, type ReviewAction } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { SignedSchema } from "../../../gen/scoremesh/signing/v1/signing_pb.js";
import { signValue, verifyValue, type Signer, type TrustedOperators } from "../../lib/nats/index.js";
import { WorkflowError, type Reviewer } from "./workflow.js";

/** The KV bucket of review cases; also the "bucket" a reviewer's signature names (with the case id as key). */
export const REVIEW_BUCKET = "scoremesh_reviews";
/** How far an action's signing time may be from the monitor's clock. */
export const ACTION_SKEW_MS = 5 * 60_000;

/** `action` signed by a reviewer's operator key, as ClaimReviewRequest.signed_action carries it. */
export function signAction(action: ReviewAction, signer: Signer): string {
  const payload = toJsonString(ReviewActionSchema, action);
  return signValue(payload, { bucket: REVIEW_BUCKET, key: action.caseId }, signer);
}

/**
 * The action in `signed` and who signed it; throws WorkflowError "unauthenticated" when it is not signed by a
 * trusted operator for its own case, or was signed more than ACTION_SKEW_MS from `nowMs`.
 */
export function verifyAction(
  signed: string,
  trusted: TrustedOperators,
  nowMs: number,
): { action: ReviewAction; reviewer: Reviewer } {
  let action: ReviewAction;
  try {
    const envelope = fromJsonString(SignedSchema, signed, { ignoreUnknownFields: true });
    action = fromJsonString(ReviewActionSchema, envelope.payload);
  } catch (err) {
    throw new WorkflowError("invalid", `signed_action: not a signed ReviewAction (${(err as Error).message})`);
  }
  let verified;
  try {
    verified = verifyValue(signed, { bucket: REVIEW_BUCKET, key: action.caseId }, trusted);
  } catch (err) {
    throw new WorkflowError("unauthenticated", `signed_action: ${(err as Error).message}`);
  }
  const at = action.at ? timestampMs(action.at) : 0;
  if (Math.abs(nowMs - at) > ACTION_SKEW_MS)
    throw new WorkflowError("unauthenticated", "signed_action: signed more than 5 minutes from the monitor's clock");
  return { action, reviewer: { name: verified.operator, key: verified.signer } };
}
