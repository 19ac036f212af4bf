import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, AnySchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { StatusSchema } from "../../../gen/google/rpc/status_pb.js";
import { BadRequestSchema, type BadRequest_FieldViolation } from "../../../gen/google/rpc/error_details_pb.js";

/** The trailer that carries a serialized google.rpc.Status with typed error details. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/** Encodes a ConnectError's details as a google.rpc.Status, or returns undefined when it has none. */
export function encodeStatusDetails(err: ConnectError): Uint8Array | undefined {
  if (err.details.length === 0) return undefined;
  const details = err.details.map((d) =>
    "desc" in d
      ? anyPack(d.desc, create(d.desc, d.value))
      : create(AnySchema, { typeUrl: `type.googleapis.com/${d.type}`, value: d.value }),
  );
  return toBinary(StatusSchema, create(StatusSchema, { code: err.code, message: err.rawMessage, details }));
}

/** Decodes a google.rpc.Status into ConnectError details (readable with `err.findDetails(Schema)`). */
export function decodeStatusDetails(bin: Uint8Array): { type: string; value: Uint8Array }[] {
  try {
    const status = fromBinary(StatusSchema, bin);
    return status.details.map((a) => ({ type: a.typeUrl.slice(a.typeUrl.lastIndexOf("/") + 1), value: a.value }));
  } catch {
    return [];
  }
}

/** A field violation for a BadRequest: `field` is a path such as "inputs.AGE", `reason` a stable code. */
export interface FieldViolation {
  field: string;
  reason: string;
  description: string;
}

/** INVALID_ARGUMENT listing every offending field in a google.rpc.BadRequest detail. */
export function invalidArgument(violations: FieldViolation[]): ConnectError {
  const first = violations[0];
  const summary =
    violations.length === 1 && first
      ? `invalid ${first.field}: ${first.description}`
      : `${violations.length} invalid fields: ${violations
          .slice(0, 5)
          .map((v) => v.field)
          .join(", ")}${violations.length > 5 ? ", ..." : ""}`;
  return new ConnectError(summary, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: { fieldViolations: violations } },
  ]);
}

/** The field violations of an INVALID_ARGUMENT error (empty for other errors). */
export function fieldViolations(err: unknown): BadRequest_FieldViolation[] {
  const ce = ConnectError.from(err);
  return ce.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations);
}
