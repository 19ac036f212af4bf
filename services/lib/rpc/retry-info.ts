import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";

/** The type name of google.rpc.RetryInfo, the standard error detail that tells a client when to retry. */
export const RETRY_INFO_TYPE = RetryInfoSchema.typeName;

/** A google.rpc.RetryInfo error detail (`retry_delay` = `ms`, to the nanosecond) for a ConnectError. */
export function retryInfo(ms: number): { type: string; value: Uint8Array } {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  const retryDelay = create(DurationSchema, { seconds: BigInt(seconds), nanos });
  return { type: RETRY_INFO_TYPE, value: toBinary(RetryInfoSchema, create(RetryInfoSchema, { retryDelay })) };
}

/** Reads the retry delay in ms back from a RetryInfo detail's bytes (for clients and tests); 0 when unreadable. */
export function readRetryDelayMs(value: Uint8Array): number {
  try {
    const delay = fromBinary(RetryInfoSchema, value).retryDelay;
    return delay ? Number(delay.seconds) * 1000 + delay.nanos / 1e6 : 0;
  } catch {
    return 0;
  }
}
